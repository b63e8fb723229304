//! The library's error type: one tree for every method.
//!
//! Every message is a single line meant for the person running the tool: it names the file, field or
//! certificate at fault, and never a command-line flag (the library has none; the CLI and the Python
//! package add their own hints by matching on the variant). A verification mismatch carries the
//! full per-file report instead of a string so callers can render it (text or JSON). The errors of
//! the key, certificate, PKCS#11, OIDC and keyless layers are kept as typed sources.

use crate::keys::KeyError;
use crate::report::MismatchReport;
use crate::x509::ChainError;
use std::path::PathBuf;
use thiserror::Error;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while signing or verifying a model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The model tree cannot be signed or verified as it is (symlink, special file, bad name...).
    #[error("{0}")]
    Model(String),
    /// The command-line or API configuration is inconsistent.
    #[error("{0}")]
    Config(String),
    /// The bundle (`model.sig`) is malformed or of an unsupported shape.
    #[error("invalid signature bundle: {0}")]
    Bundle(String),
    /// The signed statement or its predicate is malformed.
    #[error("invalid signed statement: {0}")]
    Statement(String),
    /// Key loading, signing or signature verification failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Certificate parsing or chain validation failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The certificate chain is not valid now, but was when the leaf certificate was issued
    /// (validating at signing time, as model-signing 1.x does, would accept it).
    #[error(
        "{0} (the chain was valid when the certificate was issued; validating it at signing time, \
         as model-signing 1.x does, accepts that)"
    )]
    ChainValidOnlyAtSigning(#[source] ChainError),
    /// A symbolic link in the model, where links are not followed.
    #[error("cannot use '{}' because it is a symlink (symlinks are not followed unless allowed)", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A PKCS#11 module, token, PIN or key problem.
    #[cfg(feature = "pkcs11")]
    #[error(transparent)]
    Pkcs11(#[from] crate::pkcs11::Pkcs11Error),
    /// No usable OIDC identity token.
    #[cfg(feature = "sigstore")]
    #[error(transparent)]
    Oidc(#[from] crate::sigstore::oidc::OidcError),
    /// Keyless signing failed at a Sigstore service or with its configuration.
    #[cfg(feature = "sigstore")]
    #[error(transparent)]
    Keyless(Box<crate::sigstore::sign::KeylessError>),
    /// The signature is cryptographically valid for someone else, or not valid at all.
    #[error("{0}")]
    Signature(String),
    /// The model on disk differs from the signed manifest.
    #[error("{0}")]
    Mismatch(Box<MismatchReport>),
    /// A feature that is recognised but not implemented yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// An RFC 3161 timestamp could not be obtained (signing) or does not verify (verifying), or
    /// one was required and none verified.
    #[error("{0}")]
    Timestamp(String),
    /// An OCI registry could not be reached, refused access, or served something unusable.
    #[error("{0}")]
    Registry(String),
    /// An attestation (a line of a claims file) does not verify, is about another model, or is
    /// not one the verifier's requirements accept; the message names the file and line.
    #[error("{0}")]
    Attestation(String),
    /// The caller stopped the work through [`crate::hashing::Progress::cancelled`] (for example
    /// on Ctrl-C); nothing was signed or verified.
    #[error("hashing was cancelled")]
    Cancelled,
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error and its sources as one text, joined by `: `, each source left out when an earlier
/// part already says it (many errors repeat their source's message). Line breaks inside a part
/// are kept: a [`MismatchReport`] lists one file per line.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// [`chain_text`] on one line: for messages that embed another library's error (whose text we do
/// not control) in ours.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    chain_text(e).replace(['\n', '\r'], " ")
}

/// Text quoted inside a message (a key, a title, a path), escaped the way `{:?}` escapes a string
/// (quotes, backslashes and every non-printable character) and cut to `max` characters, then `…`.
pub fn quoted_text(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Text someone else wrote (a file name from a model tree, a layer title, an issuer's error
/// message), made safe for one line of a terminal or a log: control characters (C0, DEL, C1), the
/// line and paragraph separators and the bidirectional controls are escaped (`\n`, `\u{1b}`,
/// `\u{202e}`), so the text stays on one line, cannot drive the terminal and reads in its real
/// order; at most `max` characters are kept, then `...`.
pub fn untrusted_text(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0usize;
    for c in s.chars() {
        let piece: String = match c {
            '\t' | '\n' | '\r' => c.escape_default().collect(),
            c if c < ' ' || inert_needs_escape(c) => c.escape_unicode().collect(),
            c => c.to_string(),
        };
        let len = piece.chars().count();
        if shown.saturating_add(len) > max {
            out.push_str("...");
            break;
        }
        shown += len;
        out.push_str(&piece);
    }
    out
}

/// Characters that change how the text around them looks, or do not show at all: C1 controls
/// and DEL, line and paragraph separators, bidirectional controls, the invisible format and
/// filler characters (Unicode's Cf category and the other default-ignorable code points), and the
/// blanks that look like a space or nothing (the Zs space separators other than U+0020, and the
/// braille blank). Two names that differ only by one of these (`model.bin` and `model.bin` +
/// U+200B, `a b` with U+00A0) look the same unless it is shown escaped.
fn inert_needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{a0}'
            | '\u{ad}'
            | '\u{34f}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{1680}'
            | '\u{180b}'..='\u{180f}'
            | '\u{2000}'..='\u{200f}'
            | '\u{2028}'..='\u{202f}'
            | '\u{205f}'..='\u{206f}'
            | '\u{2800}'
            | '\u{3000}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// `json` (serialized JSON) with every character [`untrusted_text`] escapes and JSON leaves raw
/// (DEL and C1 controls, bidirectional controls, line separators, invisible characters) written
/// as a `\uXXXX` escape: the same JSON value, inert on a terminal. These characters can only
/// occur inside strings, where the escape means the same character.
pub fn json_inert(json: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if inert_needs_escape(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_escaped_and_json_stays_the_same_value() {
        for c in [
            '\u{a0}',
            '\u{2002}',
            '\u{3000}',
            '\u{2800}',
            '\u{202f}',
            '\u{ad}',
            '\u{200b}',
            '\u{feff}',
            '\u{e0041}',
            '\u{2060}',
            '\u{9b}',
        ] {
            let shown = untrusted_text(&format!("a{c}b"), 100);
            assert!(shown.contains("\\u{"), "{c:?}: {shown}");
        }
        let v = serde_json::json!({ "name": "evil\u{202e}txt\u{2028}\u{e0041}\u{9b}x" });
        let text = json_inert(&serde_json::to_string(&v).unwrap());
        assert!(text.is_ascii(), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }

    #[test]
    fn untrusted_text_is_one_inert_line() {
        assert_eq!(
            untrusted_text("a\nb\u{1b}[31mc\u{202e}d\u{2028}e\u{85}", 100),
            "a\\nb\\u{1b}[31mc\\u{202e}d\\u{2028}e\\u{85}"
        );
        assert_eq!(untrusted_text("中é🙂 ok", 100), "中é🙂 ok");
        assert_eq!(untrusted_text("abcdef", 3), "abc...");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_is_flattened_without_repeats() {
        let e = Outer(std::io::Error::other("inner\nline"));
        // The source's text is already in the outer message, so it is not repeated.
        assert_eq!(chain_text(&e), "outer: inner\nline");
        assert_eq!(one_line(&e), "outer: inner line");
        let e = Error::Chain(ChainError::Limit("too many".into()));
        assert!(!chain_text(&e).is_empty());
    }
}
