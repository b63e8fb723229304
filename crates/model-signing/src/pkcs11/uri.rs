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
//! No error shows a PIN. A URI with a PIN in it is easily mistyped (`module-name=m;pin-value=1234`
//! with `;` for `&`, `pin-value:1234`), so errors name attributes but show no value that could be
//! one: an unencoded `;` or `?` in a query value, or `&` in a path value, is refused (each is
//! almost surely a mistyped separator; write them as `%3B`, `%3F`, `%26`); a component that is not
//! `name=value` with a name of letters, digits, `-` and `_` is given by its position; a malformed
//! percent-encoding by the attribute and byte position; `pin-source` errors show neither the value
//! nor the file's content. `Display` and `Debug` of a [`Pkcs11Uri`] print `pin-value` redacted.
//! `pin-source` must name a regular file of at most [`MAX_PIN_FILE_BYTES`] bytes.
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
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use zeroize::Zeroizing;

pub use super::module::{find_module_in, resolve_module, DEFAULT_MODULE_DIRS};
pub use super::pin::MAX_PIN_FILE_BYTES;
use super::pin::{pin_source_path, read_pin_file};

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

/// Percent-decodes `raw`, refusing a `%` that is not followed by two hex digits. The error gives
/// the attribute name and the position of the `%` in the value, never the value itself (it may be
/// a PIN).
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
                "attribute '{name}' has a malformed percent-encoding at byte {} of its value \
                 ('%' must be followed by two hex digits; write a '%' itself as %25)",
                at + 1
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

/// True for a possible attribute name: letters, digits, `-` and `_` (RFC 7512's standard names
/// and `pk11-v-attr-nm-char`).
fn is_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `name=value` pairs on `sep`, skipping empty segments, and rejects repeated names.
///
/// A segment that is not `name=value` with a well-formed name may hold a PIN (`pin-value:1234`,
/// `=1234`), so such errors say which component (1-based, counting every `sep`) is wrong, never
/// its text.
fn pairs<'a>(part: &'a str, sep: char, what: &str) -> Result<Vec<(&'a str, &'a str)>, Pkcs11Error> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (index, seg) in part.split(sep).enumerate() {
        if seg.is_empty() {
            continue;
        }
        let n = index + 1;
        let (name, value) = seg.split_once('=').ok_or_else(|| {
            uri_error(format!(
                "a {what} attribute has no '=' ({what} component {n}; expected name=value; \
                 its text is not shown, as it may hold a PIN)"
            ))
        })?;
        if name.is_empty() {
            return Err(uri_error(format!(
                "a {what} attribute has no name ({what} component {n}; expected name=value)"
            )));
        }
        if !is_attribute_name(name) {
            return Err(uri_error(format!(
                "a {what} attribute name has characters other than letters, digits, '-' and '_' \
                 ({what} component {n}; expected name=value; its text is not shown, as it may \
                 hold a PIN)"
            )));
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
            // RFC 7512 allows no unencoded '&' in a path value: here it is almost surely a query
            // that lacks its '?' (`object=k&pin-value=1234`), so the value is not shown.
            if raw.contains('&') {
                return Err(uri_error(format!(
                    "the value of path attribute '{name}' contains '&', which only separates query \
                     attributes: start the query with '?' (pkcs11:...?module-path=...&pin-value=...), \
                     or write a '&' in a value as %26 (the value is not shown, as it may hold a PIN)"
                )));
            }
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
            // Query attributes are separated by '&'. An unencoded ';' in a value (RFC 7512 allows
            // none) or '?' (allowed, but a second '?' is nearly always a mistyped '&') is most
            // likely a separator typed before another attribute (`module-name=m;pin-value=1234`),
            // so the value is not shown.
            if let Some(c) = raw.chars().find(|c| matches!(c, ';' | '?')) {
                let (sep, enc) = if c == ';' {
                    ("';'", "%3B")
                } else {
                    ("'?'", "%3F")
                };
                return Err(uri_error(format!(
                    "the value of query attribute '{name}' contains {sep}: query attributes are \
                     separated by '&' (pkcs11:...?module-path=...&pin-value=...), and a {sep} in a \
                     value is written {enc} (the value is not shown, as it may hold a PIN)"
                )));
            }
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
    /// relative path; one trailing newline, `\n` or `\r\n`, is removed). `None` when the URI has
    /// neither.
    ///
    /// The `pin-source` must be a regular file of at most [`MAX_PIN_FILE_BYTES`] bytes: a FIFO,
    /// device or directory is refused without being read (and opening a FIFO does not wait for a
    /// writer). Errors never show the PIN, nor the `pin-source` value (which may be a PIN put in
    /// the wrong attribute).
    pub fn pin(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Pkcs11Error> {
        if let Some(v) = &self.pin_value {
            return Ok(Some(Zeroizing::new(v.as_bytes().to_vec())));
        }
        let Some(source) = &self.pin_source else {
            return Ok(None);
        };
        let path = pin_source_path(source)?;
        let mut data = read_pin_file(&path)?;
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

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pkcs11Uri::parse(s)
    }
}

/// What a path attribute value percent-encodes: everything but RFC 3986 unreserved plus the
/// RFC 7512 `pk11-res-avail` set, minus those with a meaning in the URI (`;`, `?`, `&`, `=`, `#`,
/// `%`, `/`). Non-ASCII bytes are always encoded.
const PATH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',');

/// Query values may also keep `/` (paths) unencoded.
const QUERY_ENCODE: &AsciiSet = &PATH_ENCODE.remove(b'/');

/// Percent-encodes a path attribute value.
pub fn encode_path_value(value: &str) -> String {
    utf8_percent_encode(value, PATH_ENCODE).to_string()
}

/// Percent-encodes a query attribute value.
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_ENCODE).to_string()
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
    use std::path::Path;

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

    /// Every ASCII character is kept or encoded exactly as the documented sets say.
    #[test]
    fn encoder_sets() {
        let path_safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,".contains(&b);
        for b in 0u8..0x80 {
            let c = char::from(b).to_string();
            let encoded = format!("%{b:02X}");
            let want = |safe: bool| if safe { c.clone() } else { encoded.clone() };
            assert_eq!(encode_path_value(&c), want(path_safe(b)), "path {b:#04x}");
            assert_eq!(
                encode_query_value(&c),
                want(path_safe(b) || b == b'/'),
                "query {b:#04x}"
            );
        }
        assert_eq!(encode_path_value("é/"), "%C3%A9%2F");
        assert_eq!(encode_query_value("é/"), "%C3%A9/");
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
        assert!(
            e.to_string()
                .starts_with("cannot read the PIN from pin-source: "),
            "{e}"
        );
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

    /// A distinctive PIN: no 3-character piece of it occurs in any message we write.
    const SECRET: &str = "S3cr3tQz9";

    /// Fails if any substring of `secret` of 3 or more characters occurs in `text`.
    #[track_caller]
    fn assert_hidden(text: &str, secret: &str, what: &str) {
        let b = secret.as_bytes();
        for w in b.windows(3) {
            let piece = std::str::from_utf8(w).unwrap_or_default();
            assert!(
                piece.is_empty() || !text.contains(piece),
                "{what}: the message shows '{piece}' of the secret '{secret}': {text}"
            );
        }
    }

    /// Every plausible typo that puts a PIN into the URI text gives an error (Display and Debug)
    /// that shows no part of it.
    #[test]
    fn pin_typos_do_not_echo_the_pin() {
        let cases: Vec<(String, String)> = vec![
            // `;` instead of `&` in the query.
            (
                format!("pkcs11:token=t?module-name=libsofthsm2;pin-value={SECRET}"),
                SECRET.into(),
            ),
            (
                format!(
                    "pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so;pin-value={SECRET}"
                ),
                SECRET.into(),
            ),
            (
                format!("pkcs11:token=t?pin-value={SECRET};module-name=x"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:token=t?module-name=x;pin-source={SECRET}"),
                SECRET.into(),
            ),
            // A second `?` instead of `&`.
            (
                format!("pkcs11:token=t?module-path=/usr/lib/m.so?pin-value={SECRET}"),
                SECRET.into(),
            ),
            // `&` instead of `?` after the path.
            (
                format!("pkcs11:token=t;object=k&pin-value={SECRET}"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:type=private&pin-value={SECRET}"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:slot-id=1&pin-value={SECRET}"),
                SECRET.into(),
            ),
            // Malformed percent-encoding inside the PIN (and elsewhere).
            (
                "pkcs11:token=t?pin-value=S3cr%zz3tQz9".into(),
                "S3cr%zz3tQz9".into(),
            ),
            (
                "pkcs11:token=t?pin-value=S3cr3tQz9%2".into(),
                "S3cr3tQz9%2".into(),
            ),
            (
                "pkcs11:token=t?pin-source=S3cr%zz3tQz9".into(),
                "S3cr%zz3tQz9".into(),
            ),
            (
                "pkcs11:token=t?module-name=S3cr%zz3tQz9".into(),
                "S3cr%zz3tQz9".into(),
            ),
            // `:` (or nothing) instead of `=`.
            (
                format!("pkcs11:token=t?module-name=x&pin-value:{SECRET}"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:token=t?module-name=x&pin-value{SECRET}"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:token=t?module-name=x&{SECRET}"),
                SECRET.into(),
            ),
            (format!("pkcs11:token=t;{SECRET}"), SECRET.into()),
            // `:` instead of `=` in a PIN that holds a `=`.
            (
                "pkcs11:token=t?pin-value:S3cr3t=Qz9".into(),
                "S3cr3t=Qz9".into(),
            ),
            // No name.
            (
                format!("pkcs11:token=t?module-name=x&={SECRET}"),
                SECRET.into(),
            ),
            (format!("pkcs11:token=t;={SECRET}"), SECRET.into()),
            // Misspelt names.
            (format!("pkcs11:token=t?pinvalue={SECRET}"), SECRET.into()),
            (format!("pkcs11:token=t?pin_value={SECRET}"), SECRET.into()),
            (format!("pkcs11:token=t?PIN-VALUE={SECRET}"), SECRET.into()),
            (format!("pkcs11:token=t;pin-value={SECRET}"), SECRET.into()),
            // Both PIN attributes, twice the same, a fragment, bad UTF-8.
            (
                format!("pkcs11:?pin-value={SECRET}&pin-source={SECRET}"),
                SECRET.into(),
            ),
            (
                format!("pkcs11:?pin-value={SECRET}&pin-value={SECRET}"),
                SECRET.into(),
            ),
            (format!("pkcs11:?pin-value={SECRET}#frag"), SECRET.into()),
            (format!("pkcs11:?pin-value=%C3%28{SECRET}"), SECRET.into()),
        ];
        for (uri, secret) in &cases {
            match Pkcs11Uri::parse(uri) {
                Ok(u) => panic!("{uri} parsed as {u:?}"),
                Err(e) => {
                    assert_hidden(&e.to_string(), secret, uri);
                    assert_hidden(&format!("{e:?}"), secret, uri);
                }
            }
        }
    }

    /// A `;` or `?` in a query value, or a `&` in a path value, is refused (RFC 7512 allows none
    /// of them unencoded there) with a message naming the attribute, not its value.
    #[test]
    fn separator_typos_name_the_attribute() {
        let e = err(&format!(
            "pkcs11:?module-name=libsofthsm2;pin-value={SECRET}"
        ));
        assert!(e.contains("'module-name'") && e.contains("';'"), "{e}");
        let e = err(&format!("pkcs11:?module-path=/a/m.so;pin-value={SECRET}"));
        assert!(e.contains("'module-path'") && e.contains("';'"), "{e}");
        let e = err(&format!("pkcs11:?module-path=/a/m.so?pin-value={SECRET}"));
        assert!(e.contains("'module-path'") && e.contains("'?'"), "{e}");
        let e = err(&format!("pkcs11:object=k&pin-value={SECRET}"));
        assert!(e.contains("'object'") && e.contains("'&'"), "{e}");
        let e = err(&format!("pkcs11:?module-name=x&pin-value:{SECRET}"));
        assert!(e.contains("no '='") && e.contains("component 2"), "{e}");
        let e = err("pkcs11:?pin-value=S3cr%zz3tQz9");
        assert!(
            e.contains("'pin-value'") && e.contains("malformed percent-encoding at byte 5"),
            "{e}"
        );
        // Encoded, the same characters are fine.
        let u = parse("pkcs11:object=a%26b?pin-value=a%3Bb%3Fc");
        assert_eq!(u.object.as_deref(), Some("a&b"));
        assert!(format!("{u:?}").contains("REDACTED"));
    }

    /// Neither the URI's nor the PIN's Debug shows the PIN.
    #[test]
    fn debug_hides_the_pin() {
        let u = parse(&format!("pkcs11:object=k?pin-value={SECRET}"));
        assert_hidden(&format!("{u:?}"), SECRET, "Pkcs11Uri");
        assert_hidden(&format!("{:?}", u.pin_value), SECRET, "pin_value");
        assert_hidden(&format!("{:?}", u.pin()), SECRET, "pin()");
        // Nor as the bytes' Debug, `[83, 51, 99, ...]`.
        let bytes = format!("{:?}", SECRET.as_bytes());
        let bytes = bytes.trim_start_matches('[').trim_end_matches(']');
        for w in bytes.split(", ").collect::<Vec<_>>().windows(3) {
            let piece = w.join(", ");
            assert!(!format!("{:?}", u.pin()).contains(&piece), "{piece}");
            assert!(!format!("{:?}", u.pin_value).contains(&piece), "{piece}");
        }
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pin");
        std::fs::write(&f, SECRET).unwrap();
        let u = parse(&format!("pkcs11:?pin-source={}", f.display()));
        assert_hidden(&format!("{:?}", u.pin()), SECRET, "pin() from a file");
    }

    /// A PIN written as the pin-source (or an unusable source) is not shown either.
    #[test]
    fn pin_source_errors_do_not_echo_it() {
        for source in [
            SECRET.to_string(),
            format!("/nonexistent/{SECRET}"),
            format!("file://{SECRET}/x"),
            format!("file://{SECRET}"),
            format!("|{SECRET}"),
            format!("{SECRET}:x"),
        ] {
            let u = Pkcs11Uri {
                pin_source: Some(source.clone()),
                ..Pkcs11Uri::default()
            };
            let e = match u.pin() {
                Ok(_) => panic!("{source}: read a PIN"),
                Err(e) => e,
            };
            assert_hidden(&e.to_string(), SECRET, &source);
            assert_hidden(&format!("{e:?}"), SECRET, &source);
        }
    }

    /// Runs `f` in a thread and fails (instead of hanging) if it takes more than 10 s; `fifo`
    /// is opened for writing then, to release a reader blocked opening it.
    fn within<T: Send + 'static>(
        fifo: Option<PathBuf>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(v) => v,
            Err(_) => {
                if let Some(p) = fifo {
                    let _ = std::fs::OpenOptions::new().write(true).open(p);
                }
                panic!("reading the PIN blocked for 10 s");
            }
        }
    }

    fn pin_error(source: &Path) -> String {
        let u = Pkcs11Uri {
            pin_source: Some(source.display().to_string()),
            ..Pkcs11Uri::default()
        };
        match u.pin() {
            Ok(_) => panic!("{}: read a PIN", source.display()),
            Err(e) => e.to_string(),
        }
    }

    #[cfg(unix)]
    #[test]
    fn pin_source_dev_zero_fails_fast() {
        let started = std::time::Instant::now();
        let e = within(None, || pin_error(Path::new("/dev/zero")));
        assert!(e.contains("not a regular file"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[cfg(unix)]
    #[test]
    fn pin_source_fifo_fails_fast() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pin.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
        let f = fifo.clone();
        let e = within(Some(fifo), move || pin_error(&f));
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn pin_source_size_limit() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pin");
        std::fs::write(&f, vec![b'7'; 5 * 1024]).unwrap();
        let e = pin_error(&f);
        assert!(e.contains("over the 4096-byte limit"), "{e}");
        assert!(!e.contains("777"), "{e}");
        // A directory is not a PIN file.
        let e = pin_error(d.path());
        assert!(e.contains("not a regular file"), "{e}");
        // 4096 bytes is the most a PIN file may hold.
        std::fs::write(&f, vec![b'7'; 4096]).unwrap();
        let u = parse(&format!("pkcs11:?pin-source={}", f.display()));
        assert_eq!(u.pin().unwrap().map(|p| p.len()), Some(4096));
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
