//! PEM blocks: parsing, and naming what a block holds when it is not what was asked for.

use super::KeyError;
use zeroize::Zeroizing;

/// A PEM block with its payload held in memory that is wiped on drop.
pub(super) struct Block {
    pub(super) tag: String,
    pub(super) proc_type: Option<String>,
    pub(super) dek_info: Option<String>,
    pub(super) der: Zeroizing<Vec<u8>>,
}

pub(super) const PRIVATE_KEY_EXPECTED: &str =
    "a private key (-----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)";
pub(super) const PUBLIC_KEY_EXPECTED: &str = "a public key (-----BEGIN PUBLIC KEY-----)";

pub(super) fn parse_pem_blocks(
    input: &[u8],
    expected: &'static str,
) -> Result<Vec<Block>, KeyError> {
    let parsed = pem::parse_many(input).map_err(|e| KeyError::MalformedPem(e.to_string()))?;
    if parsed.is_empty() {
        // pem silently drops a block without an END line, so say why nothing was found.
        if contains(input, b"-----BEGIN ") {
            return Err(KeyError::MalformedPem(
                "a BEGIN line has no matching END line (truncated file?)".into(),
            ));
        }
        return Err(KeyError::NoPem { expected });
    }
    Ok(parsed
        .into_iter()
        .map(|p| {
            let tag = p.tag().to_owned();
            let proc_type = p.headers().get("Proc-Type").map(str::to_owned);
            let dek_info = p.headers().get("DEK-Info").map(str::to_owned);
            Block {
                tag,
                proc_type,
                dek_info,
                der: Zeroizing::new(p.into_contents()),
            }
        })
        .collect())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Describes a PEM block that is not what the caller asked for.
pub(super) fn describe_tag(tag: &str) -> String {
    match tag {
        "PUBLIC KEY" => "a public key".into(),
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => "a certificate".into(),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => "a certificate signing request".into(),
        "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => "a private key".into(),
        "EC PARAMETERS" => "only EC parameters and no key".into(),
        other => format!("a PEM block of type \"{other}\""),
    }
}

/// Key types that are recognisable from the PEM tag alone.
pub(super) fn unsupported_tag(tag: &str) -> Option<KeyError> {
    match tag {
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => Some(KeyError::UnsupportedKeyType("RSA".into())),
        "DSA PRIVATE KEY" => Some(KeyError::UnsupportedKeyType("DSA".into())),
        "OPENSSH PRIVATE KEY" => Some(KeyError::UnsupportedFormat(
            "OpenSSH private keys are not supported; convert the key to PKCS#8 PEM \
             (ssh-keygen -p -m PKCS8 -f KEY)"
                .into(),
        )),
        _ => None,
    }
}
