//! RFC 7512 PKCS#11 URIs: `pkcs11:token=HSM;object=signing-key;id=%01?module-name=softhsm2&pin-source=/run/pin`.
//!
//! The parser is deliberately strict, because a URI that silently matches more (or other) objects than
//! its author meant would make us sign with the wrong key:
//!
//! * every attribute may appear at most once (RFC 7512 section 2.3);
//! * attribute names are case-sensitive, and an attribute we do not know is an error that names it,
//!   rather than being ignored. This includes vendor-specific attributes (RFC 7512 lets a consumer
//!   that does not understand them refuse the URI); there is no vendor attribute we understand;
//! * percent-encoding must be well formed (`%` followed by two hex digits); every value is
//!   percent-decoded, `id` to raw bytes and every other attribute to UTF-8 text;
//! * `slot-id` is a decimal number, `library-version` is `M` or `M.N`, `type` is one of `public`,
//!   `private`, `cert`, `secret-key`, `data`;
//! * `pin-value` and `pin-source` are mutually exclusive.
//!
//! Understood path attributes: `token`, `manufacturer`, `serial`, `model`, `library-manufacturer`,
//! `library-description`, `library-version`, `slot-manufacturer`, `slot-description`, `slot-id`,
//! `id`, `object`, `type`. Understood query attributes: `module-path`, `module-name`, `pin-value`,
//! `pin-source`.
//!
//! The module is `module-path` when that is a file. Otherwise `module-name` is looked up as
//! `<dir>/<name>`, `<dir>/<name>.so` and `<dir>/lib<name>.so` in `module-path` (when it is a
//! directory) or in [`DEFAULT_MODULE_DIRS`].

use super::Pkcs11Error;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

/// Directories searched for a `module-name`: the two model-signing (Python) uses, Fedora's and
/// Arch's p11-kit directories, then Debian's multiarch p11-kit directory and SoftHSM's own.
pub const DEFAULT_MODULE_DIRS: [&str; 4] = [
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/softhsm",
];

/// The `type` path attribute: which class of object the URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=public`: a public key.
    Public,
    /// `type=private`: a private key.
    Private,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    /// The attribute value, e.g. `"private"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Public => "public",
            ObjectType::Private => "private",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }
}

/// A parsed PKCS#11 URI. Every field is the percent-decoded value of the attribute of the same name
/// (`None`: the attribute is absent, which matches anything).
#[derive(Clone, Default)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer ID.
    pub manufacturer: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `library-manufacturer`: the module's manufacturer ID.
    pub library_manufacturer: Option<String>,
    /// `library-description`: the module's description.
    pub library_description: Option<String>,
    /// `library-version`: the module's version (`M` means `M.0`).
    pub library_version: Option<(u8, u8)>,
    /// `slot-manufacturer`: the slot's manufacturer ID.
    pub slot_manufacturer: Option<String>,
    /// `slot-description`: the slot's description.
    pub slot_description: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `id`: the object's `CKA_ID` (raw bytes).
    pub id: Option<Vec<u8>>,
    /// `object`: the object's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `type`: the object's class.
    pub object_type: Option<ObjectType>,
    /// `module-path`: the PKCS#11 module file, or a directory to search for `module-name` in.
    pub module_path: Option<PathBuf>,
    /// `module-name`: the module's file name, with or without `.so`.
    pub module_name: Option<String>,
    /// `pin-value`: the user PIN itself.
    pub pin_value: Option<Zeroizing<String>>,
    /// `pin-source`: where to read the user PIN from (a `file:` URI or a path).
    pub pin_source: Option<String>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Display never shows the PIN.
        write!(f, "Pkcs11Uri({self})")
    }
}

/// The path attributes, in the order [`Pkcs11Uri`]'s `Display` writes them.
const PATH_ATTRIBUTES: [&str; 13] = [
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
    "object",
    "id",
    "type",
];

const QUERY_ATTRIBUTES: [&str; 4] = ["module-path", "module-name", "pin-value", "pin-source"];

fn uri_error(msg: impl Into<String>) -> Pkcs11Error {
    Pkcs11Error::Uri(msg.into())
}

/// Percent-decodes `raw`, refusing a `%` that is not followed by two hex digits.
fn decode(name: &str, raw: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(pos) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'%'))
    {
        let at = i + pos;
        let ok = bytes
            .get(at + 1..at + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if !ok {
            return Err(uri_error(format!(
                "attribute '{name}' has a malformed percent-encoding at '{}' \
                 ('%' must be followed by two hex digits)",
                raw.get(at..).unwrap_or_default()
            )));
        }
        i = at + 3;
    }
    Ok(percent_encoding::percent_decode_str(raw).collect())
}

fn decode_text(name: &str, raw: &str) -> Result<String, Pkcs11Error> {
    String::from_utf8(decode(name, raw)?).map_err(|_| {
        uri_error(format!(
            "attribute '{name}' is not valid UTF-8 once percent-decoded"
        ))
    })
}

fn parse_version(value: &str) -> Result<(u8, u8), Pkcs11Error> {
    let bad = || {
        uri_error(format!(
            "library-version '{value}' is not a version ('M' or 'M.N', each 0-255)"
        ))
    };
    let part = |s: &str| -> Result<u8, Pkcs11Error> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u8>().map_err(|_| bad())
    };
    match value.split_once('.') {
        Some((major, minor)) => Ok((part(major)?, part(minor)?)),
        None => Ok((part(value)?, 0)),
    }
}

fn parse_type(value: &str) -> Result<ObjectType, Pkcs11Error> {
    Ok(match value {
        "public" => ObjectType::Public,
        "private" => ObjectType::Private,
        "cert" => ObjectType::Cert,
        "secret-key" => ObjectType::SecretKey,
        "data" => ObjectType::Data,
        _ => {
            return Err(uri_error(format!(
                "type '{value}' is not one of public, private, cert, secret-key, data"
            )))
        }
    })
}

/// Splits `name=value` pairs on `sep`, skipping empty segments, and rejects repeated names.
fn pairs<'a>(part: &'a str, sep: char, what: &str) -> Result<Vec<(&'a str, &'a str)>, Pkcs11Error> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for seg in part.split(sep).filter(|s| !s.is_empty()) {
        let (name, value) = seg.split_once('=').ok_or_else(|| {
            uri_error(format!(
                "{what} attribute '{seg}' has no '=' (expected name=value)"
            ))
        })?;
        if name.is_empty() {
            return Err(uri_error(format!("{what} attribute '{seg}' has no name")));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(uri_error(format!(
                "{what} attribute '{name}' appears more than once (RFC 7512 allows each attribute once)"
            )));
        }
        out.push((name, value));
    }
    Ok(out)
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (surrounding whitespace is ignored; the scheme is case-insensitive).
    pub fn parse(uri: &str) -> Result<Self, Pkcs11Error> {
        let uri = uri.trim();
        let rest = uri
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| uri.get(7..))
            .ok_or_else(|| uri_error("it does not start with 'pkcs11:'"))?;
        if rest.contains('#') {
            return Err(uri_error(
                "it contains '#' (a fragment is not allowed; write it as %23 in a value)",
            ));
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        for (name, raw) in pairs(path, ';', "path")? {
            let text = || decode_text(name, raw);
            match name {
                "token" => out.token = Some(text()?),
                "manufacturer" => out.manufacturer = Some(text()?),
                "serial" => out.serial = Some(text()?),
                "model" => out.model = Some(text()?),
                "library-manufacturer" => out.library_manufacturer = Some(text()?),
                "library-description" => out.library_description = Some(text()?),
                "library-version" => out.library_version = Some(parse_version(&text()?)?),
                "slot-manufacturer" => out.slot_manufacturer = Some(text()?),
                "slot-description" => out.slot_description = Some(text()?),
                "slot-id" => {
                    let v = text()?;
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(uri_error(format!("slot-id '{v}' is not a decimal number")));
                    }
                    out.slot_id = Some(
                        v.parse()
                            .map_err(|_| uri_error(format!("slot-id '{v}' is too large")))?,
                    );
                }
                "id" => out.id = Some(decode(name, raw)?),
                "object" => out.object = Some(text()?),
                "type" => out.object_type = Some(parse_type(&text()?)?),
                _ if QUERY_ATTRIBUTES.contains(&name) => {
                    return Err(uri_error(format!(
                        "'{name}' is a query attribute: write it after '?' (pkcs11:...?{name}=...)"
                    )))
                }
                _ => {
                    return Err(uri_error(format!(
                        "unknown path attribute '{name}' (known: {})",
                        PATH_ATTRIBUTES.join(", ")
                    )))
                }
            }
        }
        for (name, raw) in pairs(query.unwrap_or_default(), '&', "query")? {
            let text = decode_text(name, raw)?;
            match name {
                "module-path" => {
                    if text.is_empty() {
                        return Err(uri_error("module-path is empty"));
                    }
                    out.module_path = Some(PathBuf::from(text));
                }
                "module-name" => {
                    if text.is_empty() || text.contains('/') || text == "." || text == ".." {
                        return Err(uri_error(format!(
                            "module-name '{text}' must be a plain file name (use module-path for a path)"
                        )));
                    }
                    out.module_name = Some(text);
                }
                "pin-value" => out.pin_value = Some(Zeroizing::new(text)),
                "pin-source" => out.pin_source = Some(text),
                _ if PATH_ATTRIBUTES.contains(&name) => {
                    return Err(uri_error(format!(
                        "'{name}' is a path attribute: write it before '?' (pkcs11:{name}=...)"
                    )))
                }
                _ => {
                    return Err(uri_error(format!(
                        "unknown query attribute '{name}' (known: {})",
                        QUERY_ATTRIBUTES.join(", ")
                    )))
                }
            }
        }
        if out.pin_value.is_some() && out.pin_source.is_some() {
            return Err(uri_error(
                "it has both pin-value and pin-source (RFC 7512 allows only one)",
            ));
        }
        Ok(out)
    }

    /// True when the URI carries a PIN (`pin-value` or `pin-source`).
    pub fn has_pin(&self) -> bool {
        self.pin_value.is_some() || self.pin_source.is_some()
    }

    /// The user PIN from `pin-value`, or read from `pin-source` (a `file:` URI, absolute or
    /// relative path; one trailing newline is removed). `None` when the URI has neither.
    pub fn pin(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Pkcs11Error> {
        if let Some(v) = &self.pin_value {
            return Ok(Some(Zeroizing::new(v.as_bytes().to_vec())));
        }
        let Some(source) = &self.pin_source else {
            return Ok(None);
        };
        let path = pin_source_path(source)?;
        let mut data = Zeroizing::new(std::fs::read(&path).map_err(|e| {
            Pkcs11Error::Pin(format!(
                "cannot read the PIN from pin-source '{}': {e}",
                path.display()
            ))
        })?);
        if data.last() == Some(&b'\n') {
            data.pop();
            if data.last() == Some(&b'\r') {
                data.pop();
            }
        }
        Ok(Some(data))
    }

    /// The PKCS#11 module to load, searching [`DEFAULT_MODULE_DIRS`] for a `module-name`.
    pub fn module(&self) -> Result<PathBuf, Pkcs11Error> {
        let dirs: Vec<PathBuf> = DEFAULT_MODULE_DIRS.iter().map(PathBuf::from).collect();
        self.module_in(&dirs)
    }

    /// The PKCS#11 module to load: `module-path` when it is a file; otherwise `module-name` looked up
    /// in `module-path` (when it is a directory) or in `dirs`.
    pub fn module_in(&self, dirs: &[PathBuf]) -> Result<PathBuf, Pkcs11Error> {
        let search: Vec<PathBuf> = match &self.module_path {
            Some(p) => {
                let meta = std::fs::metadata(p).map_err(|e| Pkcs11Error::ModuleNotFound {
                    what: format!("module-path '{}'", p.display()),
                    detail: e.to_string(),
                })?;
                if !meta.is_dir() {
                    return Ok(p.clone());
                }
                vec![p.clone()]
            }
            None => dirs.to_vec(),
        };
        let Some(name) = &self.module_name else {
            return Err(match &self.module_path {
                Some(p) => uri_error(format!(
                    "module-path '{}' is a directory: add module-name to say which module in it",
                    p.display()
                )),
                None => uri_error(
                    "it names no PKCS#11 module: add ?module-path=/path/to/module.so or ?module-name=NAME",
                ),
            });
        };
        find_module_in(name, &search)
    }

    /// Describes the object attributes for messages, e.g. `object='key' id=%01`.
    pub fn describe_object(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.object {
            parts.push(format!("object='{o}'"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", encode_id(id)));
        }
        if let Some(t) = self.object_type {
            parts.push(format!("type={}", t.as_str()));
        }
        if parts.is_empty() {
            "any label and id".to_string()
        } else {
            parts.join(" ")
        }
    }

    /// Describes the token and slot attributes for messages, e.g. `token='HSM' slot-id=3`.
    pub fn describe_token(&self) -> String {
        let mut parts = Vec::new();
        let text = [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("serial", &self.serial),
            ("model", &self.model),
            ("slot-manufacturer", &self.slot_manufacturer),
            ("slot-description", &self.slot_description),
        ];
        for (name, v) in text {
            if let Some(v) = v {
                parts.push(format!("{name}='{v}'"));
            }
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot-id={s}"));
        }
        if parts.is_empty() {
            "any token".to_string()
        } else {
            parts.join(" ")
        }
    }
}

/// Resolves the path of a `pin-source`: `file:///p`, `file:/p`, `file:p` or a plain path.
fn pin_source_path(source: &str) -> Result<PathBuf, Pkcs11Error> {
    if let Some(rest) = source.strip_prefix("file:") {
        // file://HOST/path: only an empty host or localhost make sense for a local file.
        let path = match rest.strip_prefix("//") {
            Some(after) => {
                let (host, path) = match after.find('/') {
                    Some(i) => after.split_at(i),
                    None => (after, ""),
                };
                if !host.is_empty() && host != "localhost" {
                    return Err(Pkcs11Error::Pin(format!(
                        "pin-source '{source}' names the remote host '{host}'"
                    )));
                }
                path
            }
            None => rest,
        };
        if path.is_empty() {
            return Err(Pkcs11Error::Pin(format!(
                "pin-source '{source}' names no file"
            )));
        }
        return Ok(PathBuf::from(path));
    }
    let scheme = source.split_once(':').map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if source.starts_with('|') || scheme.is_some_and(|s| s.len() > 1) {
        return Err(Pkcs11Error::Pin(format!(
            "pin-source '{source}' is not supported: use a file path or a file: URI"
        )));
    }
    if source.is_empty() {
        return Err(Pkcs11Error::Pin("pin-source is empty".into()));
    }
    Ok(PathBuf::from(source))
}

/// Looks `name` up as `<dir>/<name>`, `<dir>/<name>.so` and then `<dir>/lib<name>.so` in each
/// directory, in order. The last form lets `module-name=softhsm2` find `libsofthsm2.so`, which the
/// Python reference (a substring match) accepts too.
pub fn find_module_in(name: &str, dirs: &[PathBuf]) -> Result<PathBuf, Pkcs11Error> {
    let mut tried = Vec::new();
    for dir in dirs {
        let mut candidates = vec![dir.join(name)];
        if !name.ends_with(".so") {
            candidates.push(dir.join(format!("{name}.so")));
            if !name.starts_with("lib") {
                candidates.push(dir.join(format!("lib{name}.so")));
            }
        }
        for c in candidates {
            if c.is_file() {
                return Ok(c);
            }
            tried.push(c.display().to_string());
        }
    }
    Err(Pkcs11Error::ModuleNotFound {
        what: format!("module-name '{name}'"),
        detail: format!("looked for {}", tried.join(", ")),
    })
}

/// Resolves a module given on a command line: a path (anything with a `/`, or an existing file) is
/// taken as is; a bare name is searched for in [`DEFAULT_MODULE_DIRS`] like a `module-name`.
pub fn resolve_module(path_or_name: &str) -> Result<PathBuf, Pkcs11Error> {
    let p = Path::new(path_or_name);
    if path_or_name.contains('/') || p.is_file() {
        if !p.exists() {
            return Err(Pkcs11Error::ModuleNotFound {
                what: format!("module '{path_or_name}'"),
                detail: "no such file".into(),
            });
        }
        return Ok(p.to_path_buf());
    }
    let dirs: Vec<PathBuf> = DEFAULT_MODULE_DIRS.iter().map(PathBuf::from).collect();
    find_module_in(path_or_name, &dirs)
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pkcs11Uri::parse(s)
    }
}

/// Characters a path attribute value may hold unencoded: RFC 3986 unreserved plus the RFC 7512
/// `pk11-res-avail` set, minus those with a meaning in the URI (`;`, `?`, `&`, `=`, `#`, `%`,
/// `/`).
fn is_path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,".contains(&b)
}

/// Query values may also keep `/` (paths) unencoded.
fn is_query_safe(b: u8) -> bool {
    is_path_safe(b) || b == b'/'
}

fn encode_with(value: &[u8], safe: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value {
        if safe(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a path attribute value.
pub fn encode_path_value(value: &str) -> String {
    encode_with(value.as_bytes(), is_path_safe)
}

/// Percent-encodes a query attribute value.
pub fn encode_query_value(value: &str) -> String {
    encode_with(value.as_bytes(), is_query_safe)
}

/// Encodes an `id` the usual way: every byte as `%XX`.
pub fn encode_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Writes the URI back in canonical attribute order. `pin-value` is never written (it shows as
/// `pin-value=...` redacted), so the text is safe to log.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path: Vec<String> = Vec::new();
        let text = [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("serial", &self.serial),
            ("model", &self.model),
            ("library-manufacturer", &self.library_manufacturer),
            ("library-description", &self.library_description),
        ];
        for (name, v) in text {
            if let Some(v) = v {
                path.push(format!("{name}={}", encode_path_value(v)));
            }
        }
        if let Some((major, minor)) = self.library_version {
            path.push(format!("library-version={major}.{minor}"));
        }
        for (name, v) in [
            ("slot-manufacturer", &self.slot_manufacturer),
            ("slot-description", &self.slot_description),
        ] {
            if let Some(v) = v {
                path.push(format!("{name}={}", encode_path_value(v)));
            }
        }
        if let Some(s) = self.slot_id {
            path.push(format!("slot-id={s}"));
        }
        if let Some(o) = &self.object {
            path.push(format!("object={}", encode_path_value(o)));
        }
        if let Some(id) = &self.id {
            path.push(format!("id={}", encode_id(id)));
        }
        if let Some(t) = self.object_type {
            path.push(format!("type={}", t.as_str()));
        }
        let mut query: Vec<String> = Vec::new();
        if let Some(p) = &self.module_path {
            query.push(format!(
                "module-path={}",
                encode_query_value(&p.to_string_lossy())
            ));
        }
        if let Some(n) = &self.module_name {
            query.push(format!("module-name={}", encode_query_value(n)));
        }
        if self.pin_value.is_some() {
            query.push("pin-value=REDACTED".into());
        }
        if let Some(s) = &self.pin_source {
            query.push(format!("pin-source={}", encode_query_value(s)));
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Pkcs11Uri {
        Pkcs11Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match Pkcs11Uri::parse(s) {
            Ok(u) => panic!("{s} parsed as {u:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn all_attributes() {
        let u = parse(
            "pkcs11:token=My%20Token;manufacturer=ACME;serial=0123;model=M1;\
             library-manufacturer=OpenSC%20Project;library-description=lib;library-version=2.6;\
             slot-manufacturer=SM;slot-description=slot%200;slot-id=42;id=%01%ff;object=sign;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634",
        );
        assert_eq!(u.token.as_deref(), Some("My Token"));
        assert_eq!(u.manufacturer.as_deref(), Some("ACME"));
        assert_eq!(u.serial.as_deref(), Some("0123"));
        assert_eq!(u.model.as_deref(), Some("M1"));
        assert_eq!(u.library_manufacturer.as_deref(), Some("OpenSC Project"));
        assert_eq!(u.library_description.as_deref(), Some("lib"));
        assert_eq!(u.library_version, Some((2, 6)));
        assert_eq!(u.slot_manufacturer.as_deref(), Some("SM"));
        assert_eq!(u.slot_description.as_deref(), Some("slot 0"));
        assert_eq!(u.slot_id, Some(42));
        assert_eq!(u.id.as_deref(), Some(&[0x01, 0xff][..]));
        assert_eq!(u.object.as_deref(), Some("sign"));
        assert_eq!(u.object_type, Some(ObjectType::Private));
        assert_eq!(
            u.module_path.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(u.pin_value.as_ref().map(|p| p.as_str()), Some("12&34"));
        let shown = u.to_string();
        assert!(
            !shown.contains("12&34") && !shown.contains("12%2634"),
            "{shown}"
        );
    }

    #[test]
    fn percent_encoding() {
        // Non-ASCII (UTF-8), reserved characters, raw bytes in id, a bare id.
        let u = parse("pkcs11:token=caf%C3%A9;object=a%3Bb%3Fc%26d%3De%25;id=ab%00");
        assert_eq!(u.token.as_deref(), Some("café"));
        assert_eq!(u.object.as_deref(), Some("a;b?c&d=e%"));
        assert_eq!(u.id.as_deref(), Some(&b"ab\0"[..]));
        // Unencoded UTF-8 is accepted as is.
        assert_eq!(parse("pkcs11:token=café").token.as_deref(), Some("café"));
        // Lower- and upper-case hex, scheme case, surrounding blanks.
        assert_eq!(
            parse("  PKCS11:id=%aB%Cd ").id.as_deref(),
            Some(&[0xab, 0xcd][..])
        );
        assert!(err("pkcs11:object=a%2").contains("malformed percent-encoding"));
        assert!(err("pkcs11:object=a%zz").contains("malformed percent-encoding"));
        assert!(err("pkcs11:object=%C3%28").contains("not valid UTF-8"));
        // Round trip through Display.
        let u = parse("pkcs11:token=A%20B;object=x%3By;id=%01?module-path=/a%20b/m.so");
        let again = parse(&u.to_string());
        assert_eq!(again.token, u.token);
        assert_eq!(again.object, u.object);
        assert_eq!(again.id, u.id);
        assert_eq!(again.module_path, u.module_path);
        assert_eq!(
            u.to_string(),
            "pkcs11:token=A%20B;object=x%3By;id=%01?module-path=/a%20b/m.so"
        );
    }

    #[test]
    fn empty_and_minimal() {
        let u = parse("pkcs11:");
        assert!(u.token.is_none() && u.id.is_none() && !u.has_pin());
        let u = parse("pkcs11:object=k;");
        assert_eq!(u.object.as_deref(), Some("k"));
        let u = parse("pkcs11:object=");
        assert_eq!(u.object.as_deref(), Some(""));
        assert!(err("pk11:object=k").contains("does not start with 'pkcs11:'"));
        assert!(err("object=k").contains("does not start with 'pkcs11:'"));
        assert!(err("pkcs11:object").contains("has no '='"));
        assert!(err("pkcs11:=x").contains("has no name"));
        assert!(err("pkcs11:object=k#frag").contains("fragment"));
    }

    #[test]
    fn repeated_attributes() {
        assert!(err("pkcs11:object=a;object=b").contains("'object' appears more than once"));
        assert!(err("pkcs11:id=%01;token=t;id=%02").contains("'id' appears more than once"));
        assert!(err("pkcs11:object=a?pin-value=1&pin-value=2")
            .contains("'pin-value' appears more than once"));
    }

    #[test]
    fn unknown_attributes() {
        let e = err("pkcs11:object=a;label=b");
        assert!(e.contains("unknown path attribute 'label'"), "{e}");
        assert!(e.contains("token, manufacturer"), "{e}");
        assert!(err("pkcs11:x-vendor=1").contains("unknown path attribute 'x-vendor'"));
        assert!(err("pkcs11:Object=a").contains("unknown path attribute 'Object'"));
        assert!(err("pkcs11:object=a?module=x").contains("unknown query attribute 'module'"));
        assert!(err("pkcs11:object=a;pin-value=1").contains("is a query attribute"));
        assert!(err("pkcs11:?object=a").contains("is a path attribute"));
    }

    #[test]
    fn value_checks() {
        assert!(err("pkcs11:slot-id=abc").contains("not a decimal number"));
        assert!(err("pkcs11:slot-id=-1").contains("not a decimal number"));
        assert!(err("pkcs11:slot-id=99999999999999999999999").contains("too large"));
        assert_eq!(
            parse("pkcs11:library-version=3").library_version,
            Some((3, 0))
        );
        assert!(err("pkcs11:library-version=1.2.3").contains("not a version"));
        assert!(err("pkcs11:library-version=256").contains("not a version"));
        assert!(err("pkcs11:type=key").contains("type 'key'"));
        for t in ["public", "private", "cert", "secret-key", "data"] {
            assert_eq!(
                parse(&format!("pkcs11:type={t}"))
                    .object_type
                    .map(ObjectType::as_str),
                Some(t)
            );
        }
        assert!(err("pkcs11:?pin-value=1&pin-source=/x").contains("both pin-value and pin-source"));
        assert!(err("pkcs11:?module-name=a/b").contains("plain file name"));
        assert!(err("pkcs11:?module-path=").contains("module-path is empty"));
    }

    #[test]
    fn module_name_search() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        std::fs::write(d2.path().join("libfoo.so"), b"").unwrap();
        std::fs::write(d1.path().join("bar"), b"").unwrap();
        std::fs::write(d2.path().join("bar"), b"").unwrap();
        let dirs = vec![d1.path().to_path_buf(), d2.path().to_path_buf()];
        // `<name>.so` is tried after `<name>`.
        let u = parse("pkcs11:?module-name=libfoo");
        assert_eq!(u.module_in(&dirs).unwrap(), d2.path().join("libfoo.so"));
        let u = parse("pkcs11:?module-name=libfoo.so");
        assert_eq!(u.module_in(&dirs).unwrap(), d2.path().join("libfoo.so"));
        let u = parse("pkcs11:?module-name=foo");
        assert_eq!(u.module_in(&dirs).unwrap(), d2.path().join("libfoo.so"));
        // The first directory wins.
        let u = parse("pkcs11:?module-name=bar");
        assert_eq!(u.module_in(&dirs).unwrap(), d1.path().join("bar"));
        // Not found: the message lists where we looked.
        let e = parse("pkcs11:?module-name=nope")
            .module_in(&dirs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("module-name 'nope'"), "{e}");
        assert!(
            e.contains(&d1.path().join("nope.so").display().to_string()),
            "{e}"
        );
        // module-path as a directory is searched instead of the default dirs.
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:?module-path={}&module-name=libfoo",
            d2.path().display()
        ))
        .unwrap();
        assert_eq!(u.module_in(&[]).unwrap(), d2.path().join("libfoo.so"));
        // module-path as a file wins over module-name.
        let file = d1.path().join("bar");
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:?module-path={}&module-name=libfoo",
            file.display()
        ))
        .unwrap();
        assert_eq!(u.module_in(&dirs).unwrap(), file);
        // A directory without a name, no module at all, a missing path.
        let u = Pkcs11Uri::parse(&format!("pkcs11:?module-path={}", d2.path().display())).unwrap();
        assert!(u
            .module_in(&dirs)
            .unwrap_err()
            .to_string()
            .contains("add module-name"));
        assert!(parse("pkcs11:object=a")
            .module_in(&dirs)
            .unwrap_err()
            .to_string()
            .contains("names no PKCS#11 module"));
        assert!(parse("pkcs11:?module-path=/nonexistent/m.so")
            .module_in(&dirs)
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/m.so"));
    }

    #[test]
    fn pin_source_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pin");
        std::fs::write(&f, b"1234\n").unwrap();
        for uri in [
            format!("pkcs11:?pin-source={}", f.display()),
            format!("pkcs11:?pin-source=file:{}", f.display()),
            format!("pkcs11:?pin-source=file://{}", f.display()),
            format!("pkcs11:?pin-source=file%3A%2F%2Flocalhost{}", f.display()),
        ] {
            let pin = parse(&uri).pin().unwrap().unwrap();
            assert_eq!(pin.as_slice(), b"1234", "{uri}");
        }
        // Only one trailing newline goes; other whitespace is part of the PIN.
        std::fs::write(&f, b" 12 34\n\n").unwrap();
        let pin = parse(&format!("pkcs11:?pin-source={}", f.display()))
            .pin()
            .unwrap()
            .unwrap();
        assert_eq!(pin.as_slice(), b" 12 34\n");
        std::fs::write(&f, b"abc\r\n").unwrap();
        let pin = parse(&format!("pkcs11:?pin-source={}", f.display()))
            .pin()
            .unwrap()
            .unwrap();
        assert_eq!(pin.as_slice(), b"abc");
        // pin-value, no PIN, unreadable file, unsupported sources.
        assert_eq!(
            parse("pkcs11:?pin-value=9876")
                .pin()
                .unwrap()
                .unwrap()
                .as_slice(),
            b"9876"
        );
        assert!(parse("pkcs11:").pin().unwrap().is_none());
        let e = parse("pkcs11:?pin-source=/nonexistent/pin")
            .pin()
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/pin"), "{e}");
        for bad in [
            "|/bin/pin-prog",
            "https://example.com/pin",
            "file://host/pin",
        ] {
            let u = Pkcs11Uri {
                pin_source: Some(bad.into()),
                ..Pkcs11Uri::default()
            };
            assert!(u.pin().is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions() {
        let u = parse("pkcs11:token=t;slot-id=3;object=k;id=%01%02");
        assert_eq!(u.describe_object(), "object='k' id=%01%02");
        assert_eq!(u.describe_token(), "token='t' slot-id=3");
        assert_eq!(parse("pkcs11:").describe_object(), "any label and id");
        assert_eq!(parse("pkcs11:").describe_token(), "any token");
    }
}
