//! Signing with a key held in a PKCS#11 token (an HSM, a smart card, SoftHSM...).
//!
//! * [`uri`] parses the RFC 7512 URI that names the module, token and key
//!   (`pkcs11:token=HSM;object=model-key?module-name=softhsm2&pin-source=/run/pin`);
//! * [`Pkcs11Signer`] and [`Pkcs11CertificateSigner`] implement [`crate::sign::Signer`], so
//!   [`crate::sign::sign_model`] writes the same bundles as the `key` and `certificate` methods;
//! * [`list`] describes a module's slots, tokens and keys, with a ready-to-use URI per key.
//!
//! The module is loaded at run time (`dlopen`, through `cryptoki`), so nothing PKCS#11-related is
//! linked into the program: without a module only these functions fail.
//!
//! Only EC keys on P-256, P-384 and P-521 can sign (OMS allows nothing else). The message is hashed
//! in software with the curve's hash, the token computes a raw `CKM_ECDSA` signature over the digest
//! (`r || s`), and that is re-encoded as the DER signature the bundle holds, exactly as the Python
//! reference does.

mod module;
mod pin;
mod signer;
pub mod uri;

pub use signer::{Pkcs11CertificateSigner, Pkcs11Signer};
pub use uri::{Pkcs11Uri, DEFAULT_MODULE_DIRS, MAX_PIN_FILE_BYTES};
/// Re-exported for [`PinPrompt`] implementations.
pub use zeroize::Zeroizing;

use crate::keys::{Curve, PublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::RawAuthPin;
use der::Decode;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// What can go wrong with a PKCS#11 URI, module, token or key. Every message is one line that says
/// what was looked for.
#[derive(Debug, Error)]
pub enum Pkcs11Error {
    /// The URI is malformed or incomplete.
    #[error("invalid PKCS#11 URI: {0}")]
    Uri(String),
    /// The module file could not be found.
    #[error("cannot find the PKCS#11 module ({what}): {detail}")]
    ModuleNotFound {
        /// What named the module (`module-path '...'`, `module-name '...'`).
        what: String,
        /// Why it was not found (where we looked).
        detail: String,
    },
    /// The module exists but cannot be loaded or initialised.
    #[error("cannot load the PKCS#11 module '{path}': {detail}")]
    Module {
        /// The module file.
        path: PathBuf,
        /// The loader's or the module's error.
        detail: String,
    },
    /// No PIN could be had (none in the URI, and no way to ask), or `pin-source` is unusable.
    #[error("{0}")]
    Pin(String),
    /// The PIN was refused.
    #[error("wrong PIN for the PKCS#11 {token} ({detail})")]
    WrongPin {
        /// The token, e.g. `token 'HSM' (slot 3)`.
        token: String,
        /// The module's return value.
        detail: String,
    },
    /// No token, or several tokens, match the URI.
    #[error("{0}")]
    Token(String),
    /// No key, or several keys, match the URI.
    #[error("{0}")]
    Key(String),
    /// The key is not an EC P-256/P-384/P-521 key.
    #[error("{0}")]
    UnsupportedKey(String),
    /// The signing certificate does not certify the token's key, or may not sign.
    #[error("{0}")]
    Certificate(String),
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {op} failed: {detail}")]
    Call {
        /// What was being done (`C_Sign on token 'HSM'`).
        op: String,
        /// The module's return value.
        detail: String,
    },
}

/// The environment variable that holds the user PIN when the URI has none.
pub const PIN_ENV: &str = "MODEL_SIGNING_PKCS11_PIN";

/// The PIN in [`PIN_ENV`], `None` when it is unset or empty. The library reads the environment
/// only when a caller asks it to through this function.
pub fn env_pin() -> crate::Result<Option<Zeroizing<String>>> {
    match std::env::var_os(PIN_ENV) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .into_string()
            .map(|pin| Some(Zeroizing::new(pin)))
            .map_err(|_| crate::Error::Config(format!("{PIN_ENV} is not valid UTF-8"))),
    }
}

/// Asks for the user PIN of a token when the URI carries none. It gets a description of the token
/// (`token 'HSM' (slot 3)`) and returns the PIN, or an error to give up with
/// (typically [`Pkcs11Error::Pin`]).
pub type PinPrompt<'a> = dyn FnMut(&str) -> Result<Zeroizing<String>, Pkcs11Error> + 'a;

/// Turns a cryptoki error into a one-line message: `C_Login: PinIncorrect`.
fn ck_detail(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, func) => format!("C_{func:?} returned {}", rv_name(*rv)),
        CkError::LibraryLoading(l) => l.to_string(),
        other => other.to_string(),
    }
}

/// `CKR_`-style name of a return value (the Debug name in upper snake case).
fn rv_name(rv: RvError) -> String {
    let debug = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn call_error(op: impl Into<String>, e: &CkError) -> Pkcs11Error {
    Pkcs11Error::Call {
        op: op.into(),
        detail: ck_detail(e),
    }
}

/// A loaded and initialised module. It is finalised when dropped (unless someone else in the
/// process had initialised it already).
pub(crate) struct Module {
    pub(crate) ctx: Pkcs11,
    pub(crate) path: PathBuf,
    finalize: bool,
}

impl Module {
    /// Loads and initialises the module at `path`.
    pub(crate) fn load(path: &Path) -> Result<Module, Pkcs11Error> {
        if !path.exists() {
            return Err(Pkcs11Error::ModuleNotFound {
                what: format!("'{}'", path.display()),
                detail: "no such file".into(),
            });
        }
        let ctx = Pkcs11::new(path).map_err(|e| Pkcs11Error::Module {
            path: path.to_path_buf(),
            detail: ck_detail(&e),
        })?;
        let finalize = match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => true,
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
            Err(e) => {
                return Err(Pkcs11Error::Module {
                    path: path.to_path_buf(),
                    detail: ck_detail(&e),
                })
            }
        };
        Ok(Module {
            ctx,
            path: path.to_path_buf(),
            finalize,
        })
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        if self.finalize {
            if let Err(e) = self.ctx.clone().finalize() {
                tracing::debug!("C_Finalize of {}: {}", self.path.display(), ck_detail(&e));
            }
        }
    }
}

/// An open session on the token a URI names. Field order matters: the session closes before the
/// module is finalised.
pub(crate) struct TokenSession {
    pub(crate) session: Session,
    /// `token 'LABEL' (slot N)`, for messages.
    pub(crate) token: String,
    pub(crate) logged_in: bool,
    pub(crate) module: Module,
}

/// `token 'LABEL' (slot N)`.
fn token_description(slot: Slot, info: &TokenInfo) -> String {
    format!("token '{}' (slot {})", info.label(), slot.id())
}

/// Checks the URI's `library-*` attributes against the module.
fn check_library(module: &Module, uri: &Pkcs11Uri) -> Result<(), Pkcs11Error> {
    if uri.library_manufacturer.is_none()
        && uri.library_description.is_none()
        && uri.library_version.is_none()
    {
        return Ok(());
    }
    let info = module
        .ctx
        .get_library_info()
        .map_err(|e| call_error("C_GetInfo", &e))?;
    let version = info.library_version();
    let mismatch = uri
        .library_manufacturer
        .as_deref()
        .is_some_and(|m| m != info.manufacturer_id())
        || uri
            .library_description
            .as_deref()
            .is_some_and(|d| d != info.library_description())
        || uri
            .library_version
            .is_some_and(|(major, minor)| (major, minor) != (version.major(), version.minor()));
    if mismatch {
        return Err(Pkcs11Error::Token(format!(
            "the PKCS#11 module '{}' is '{}' by '{}' version {}, which does not match the URI's library attributes",
            module.path.display(),
            info.library_description(),
            info.manufacturer_id(),
            version
        )));
    }
    Ok(())
}

/// The one initialised token that matches the URI's token and slot attributes.
fn find_token(module: &Module, uri: &Pkcs11Uri) -> Result<(Slot, TokenInfo), Pkcs11Error> {
    check_library(module, uri)?;
    let slots = module
        .ctx
        .get_slots_with_token()
        .map_err(|e| call_error("C_GetSlotList", &e))?;
    let mut seen = Vec::new();
    let mut matches = Vec::new();
    for slot in slots {
        let token = match module.ctx.get_token_info(slot) {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!("C_GetTokenInfo on slot {}: {}", slot.id(), ck_detail(&e));
                continue;
            }
        };
        if !token.token_initialized() {
            continue;
        }
        seen.push(format!(
            "'{}' (slot {}, serial {})",
            token.label(),
            slot.id(),
            token.serial_number()
        ));
        let slot_ok = if uri.slot_manufacturer.is_some() || uri.slot_description.is_some() {
            match module.ctx.get_slot_info(slot) {
                Ok(s) => {
                    uri.slot_manufacturer
                        .as_deref()
                        .is_none_or(|m| m == s.manufacturer_id())
                        && uri
                            .slot_description
                            .as_deref()
                            .is_none_or(|d| d == s.slot_description())
                }
                Err(_) => false,
            }
        } else {
            true
        };
        let token_ok = uri.slot_id.is_none_or(|id| id == slot.id())
            && uri.token.as_deref().is_none_or(|l| l == token.label())
            && uri
                .manufacturer
                .as_deref()
                .is_none_or(|m| m == token.manufacturer_id())
            && uri
                .serial
                .as_deref()
                .is_none_or(|s| s == token.serial_number())
            && uri.model.as_deref().is_none_or(|m| m == token.model());
        if slot_ok && token_ok {
            matches.push((slot, token));
        }
    }
    let module_name = module.path.display();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 if seen.is_empty() => Err(Pkcs11Error::Token(format!(
            "no token matches {} in the PKCS#11 module '{module_name}': it has no initialized token",
            uri.describe_token()
        ))),
        0 => Err(Pkcs11Error::Token(format!(
            "no token matches {} in the PKCS#11 module '{module_name}' (tokens: {})",
            uri.describe_token(),
            seen.join(", ")
        ))),
        _ => Err(Pkcs11Error::Token(format!(
            "{} tokens match {} in the PKCS#11 module '{module_name}': {}; add token=, serial= or slot-id= to the URI",
            matches.len(),
            uri.describe_token(),
            matches
                .iter()
                .map(|(s, t)| format!("'{}' (slot {}, serial {})", t.label(), s.id(), t.serial_number()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Logs `session` in as the user with `pin`, mapping a refused PIN to [`Pkcs11Error::WrongPin`].
fn login(session: &Session, token: &str, pin: Option<&[u8]>) -> Result<(), Pkcs11Error> {
    let result = match pin {
        Some(p) => session.login_with_raw(UserType::User, &RawAuthPin::new(Box::new(p.to_vec()))),
        // Protected authentication path: the PIN is entered on the device.
        None => session.login(UserType::User, None),
    };
    match result {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(
            e @ CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid,
                _,
            ),
        ) => Err(Pkcs11Error::WrongPin {
            token: token.to_string(),
            detail: ck_detail(&e),
        }),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Pkcs11Error::Pin(format!(
            "the user PIN of the PKCS#11 {token} is locked (too many wrong PINs)"
        ))),
        Err(e) => Err(call_error(format!("login to {token}"), &e)),
    }
}

impl TokenSession {
    /// Loads the URI's module, opens a session on its token and logs in: with the URI's PIN, else
    /// (when the token requires a login) with the PIN `prompt` supplies. The URI's PIN is read
    /// first, so an unusable `pin-source` fails before any module is loaded.
    pub(crate) fn open(
        uri: &Pkcs11Uri,
        prompt: Option<&mut PinPrompt<'_>>,
    ) -> Result<TokenSession, Pkcs11Error> {
        let pin = uri.pin()?;
        let module = Module::load(&uri.module()?)?;
        let (slot, info) = find_token(&module, uri)?;
        let token = token_description(slot, &info);
        let session = module
            .ctx
            .open_ro_session(slot)
            .map_err(|e| call_error(format!("opening a session on {token}"), &e))?;
        let mut logged_in = false;
        if let Some(p) = pin {
            login(&session, &token, Some(&p))?;
            logged_in = true;
        } else if info.login_required() {
            if info.protected_authentication_path() {
                login(&session, &token, None)?;
            } else {
                let asked = match prompt {
                    Some(ask) => ask(&token)?,
                    None => {
                        return Err(Pkcs11Error::Pin(format!(
                            "the PKCS#11 URI has no pin-value or pin-source and no way to ask for the PIN of {token}"
                        )))
                    }
                };
                login(&session, &token, Some(asked.as_bytes()))?;
            }
            logged_in = true;
        }
        Ok(TokenSession {
            session,
            token,
            logged_in,
            module,
        })
    }
}

/// Reads one byte-string attribute; `None` when the object does not have it.
pub(crate) fn bytes_attr(
    session: &Session,
    obj: ObjectHandle,
    ty: AttributeType,
) -> Option<Vec<u8>> {
    let attrs = session.get_attributes(obj, &[ty]).ok()?;
    attrs.into_iter().find_map(|a| match a {
        Attribute::Label(v)
        | Attribute::Id(v)
        | Attribute::EcParams(v)
        | Attribute::EcPoint(v)
        | Attribute::PublicKeyInfo(v) => Some(v),
        _ => None,
    })
}

/// The key type of an object, if readable.
pub(crate) fn key_type_attr(session: &Session, obj: ObjectHandle) -> Option<KeyType> {
    let attrs = session
        .get_attributes(obj, &[AttributeType::KeyType])
        .ok()?;
    attrs.into_iter().find_map(|a| match a {
        Attribute::KeyType(k) => Some(k),
        _ => None,
    })
}

/// The curve named by `CKA_EC_PARAMS` (a DER namedCurve OID). The error describes what the
/// parameters name instead, e.g. `1.3.132.0.35 (secp521r1)` or a bare OID.
pub(crate) fn curve_from_params(params: &[u8]) -> Result<Curve, String> {
    let oid = const_oid::ObjectIdentifier::from_der(params)
        .map_err(|_| "parameters that are not a named curve OID".to_string())?;
    Curve::from_oid(&oid).ok_or_else(|| match const_oid::db::DB.by_oid(&oid) {
        Some(name) => format!("{oid} ({name})"),
        None => oid.to_string(),
    })
}

/// The public key from `CKA_EC_POINT`: a DER OCTET STRING holding the SEC1 point (some modules
/// return the bare point, which is accepted too).
pub(crate) fn public_from_point(curve: Curve, ec_point: &[u8]) -> Result<PublicKey, String> {
    if let Ok(inner) = der::asn1::OctetStringRef::from_der(ec_point) {
        if let Ok(k) = PublicKey::from_sec1_point(curve, inner.as_bytes()) {
            return Ok(k);
        }
    }
    PublicKey::from_sec1_point(curve, ec_point)
        .map_err(|e| format!("its CKA_EC_POINT is not a {curve} point: {e}"))
}

/// A human name of a key type: `RSA`, `EC`, `EC_EDWARDS (Ed25519/Ed448)`...
pub(crate) fn key_type_name(k: KeyType) -> String {
    if k == KeyType::EC_EDWARDS {
        "EC_EDWARDS (Ed25519/Ed448)".into()
    } else if k == KeyType::EC_MONTGOMERY {
        "EC_MONTGOMERY (X25519/X448)".into()
    } else {
        k.to_string().trim_start_matches("CKK_").to_string()
    }
}

/// Label (lossy UTF-8) and id of an object.
pub(crate) fn label_and_id(session: &Session, obj: ObjectHandle) -> (String, Vec<u8>) {
    let label = bytes_attr(session, obj, AttributeType::Label)
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default();
    let id = bytes_attr(session, obj, AttributeType::Id).unwrap_or_default();
    (label, id)
}

/// `'label' (id %01)` for messages.
pub(crate) fn describe_key(label: &str, id: &[u8]) -> String {
    match (label.is_empty(), id.is_empty()) {
        (false, false) => format!("'{label}' (id {})", uri::encode_id(id)),
        (false, true) => format!("'{label}'"),
        (true, false) => format!("id {}", uri::encode_id(id)),
        (true, true) => "(no label, no id)".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

/// What [`list`] found in a module.
#[derive(Debug, Clone)]
pub struct ModuleListing {
    /// The module file.
    pub module: PathBuf,
    /// The module's manufacturer ID.
    pub manufacturer: String,
    /// The module's description.
    pub description: String,
    /// The module's version, `M.N`.
    pub version: String,
    /// Every slot, with or without a token.
    pub slots: Vec<SlotListing>,
}

/// A slot of a [`ModuleListing`].
#[derive(Debug, Clone)]
pub struct SlotListing {
    /// The slot number (`slot-id`).
    pub slot_id: u64,
    /// The slot description.
    pub description: String,
    /// The slot manufacturer.
    pub manufacturer: String,
    /// The token in the slot, if one is present.
    pub token: Option<TokenListing>,
}

/// A token of a [`SlotListing`].
#[derive(Debug, Clone)]
pub struct TokenListing {
    /// The token label (`token`).
    pub label: String,
    /// The token manufacturer (`manufacturer`).
    pub manufacturer: String,
    /// The token model (`model`).
    pub model: String,
    /// The token serial number (`serial`).
    pub serial: String,
    /// False for a blank token (nothing to list).
    pub initialized: bool,
    /// The token wants a PIN before private objects are visible.
    pub login_required: bool,
    /// We logged in (so private keys are listed).
    pub logged_in: bool,
    /// The keys found.
    pub keys: Vec<KeyListing>,
}

/// Whether a listed key is a private key (can sign) or a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// `CKO_PRIVATE_KEY`.
    Private,
    /// `CKO_PUBLIC_KEY` (listed when no private key with the same label and id was seen, e.g.
    /// before logging in).
    Public,
}

/// A key of a [`TokenListing`].
#[derive(Debug, Clone)]
pub struct KeyListing {
    /// Private or public key.
    pub class: KeyClass,
    /// `CKA_LABEL` (`object`).
    pub label: String,
    /// `CKA_ID` (`id`).
    pub id: Vec<u8>,
    /// The key type, e.g. `EC P-256`, `RSA`, `EC_EDWARDS (Ed25519/Ed448)`.
    pub key_type: String,
    /// The curve, for keys that can sign models.
    pub curve: Option<Curve>,
    /// A URI naming this key (no PIN in it).
    pub uri: String,
}

impl KeyListing {
    /// True when the key can sign models (an EC key on a supported curve).
    pub fn usable(&self) -> bool {
        self.curve.is_some()
    }
}

fn list_keys(
    session: &Session,
    module: &Path,
    token_label: &str,
    serial: Option<&str>,
) -> Result<Vec<KeyListing>, Pkcs11Error> {
    let mut out: Vec<KeyListing> = Vec::new();
    for (class, ck_class) in [
        (KeyClass::Private, ObjectClass::PRIVATE_KEY),
        (KeyClass::Public, ObjectClass::PUBLIC_KEY),
    ] {
        let objects = session
            .find_objects(&[Attribute::Class(ck_class)])
            .map_err(|e| call_error("C_FindObjects", &e))?;
        for obj in objects {
            let (label, id) = label_and_id(session, obj);
            if class == KeyClass::Public && out.iter().any(|k| k.label == label && k.id == id) {
                continue;
            }
            let kt = key_type_attr(session, obj);
            let (key_type, curve) = match kt {
                Some(k) if k == KeyType::EC => {
                    match bytes_attr(session, obj, AttributeType::EcParams)
                        .map(|p| curve_from_params(&p))
                    {
                        Some(Ok(c)) => (format!("EC {c}"), Some(c)),
                        Some(Err(e)) => (format!("EC (unsupported curve {e})"), None),
                        None => ("EC (unknown curve)".to_string(), None),
                    }
                }
                Some(k) => (key_type_name(k), None),
                None => ("unknown".to_string(), None),
            };
            let key_uri = Pkcs11Uri {
                token: Some(token_label.to_string()),
                serial: serial.map(str::to_string),
                object: (!label.is_empty()).then(|| label.clone()),
                id: (!id.is_empty()).then(|| id.clone()),
                module_path: Some(module.to_path_buf()),
                ..Pkcs11Uri::default()
            };
            out.push(KeyListing {
                class,
                label,
                id,
                key_type,
                curve,
                uri: key_uri.to_string(),
            });
        }
    }
    // Private keys first, then by label and id: the module's object order is arbitrary.
    out.sort_by(|a, b| {
        (a.class != KeyClass::Private, &a.label, &a.id).cmp(&(
            b.class != KeyClass::Private,
            &b.label,
            &b.id,
        ))
    });
    Ok(out)
}

/// Lists the slots, tokens and keys of the module at `module`. With `pin`, logs in to every token
/// that needs it (or only to the token labelled `token`, when given; other tokens are then left
/// out) so private keys are listed too; a refused PIN is an error.
pub fn list(
    module: &Path,
    pin: Option<&[u8]>,
    token: Option<&str>,
) -> Result<ModuleListing, Pkcs11Error> {
    let m = Module::load(module)?;
    let info = m
        .ctx
        .get_library_info()
        .map_err(|e| call_error("C_GetInfo", &e))?;
    let slots = m
        .ctx
        .get_all_slots()
        .map_err(|e| call_error("C_GetSlotList", &e))?;
    let mut infos = Vec::new();
    for slot in slots {
        let sinfo = m
            .ctx
            .get_slot_info(slot)
            .map_err(|e| call_error("C_GetSlotInfo", &e))?;
        let tinfo = if sinfo.token_present() {
            Some(
                m.ctx
                    .get_token_info(slot)
                    .map_err(|e| call_error("C_GetTokenInfo", &e))?,
            )
        } else {
            None
        };
        if let Some(want) = token {
            if tinfo.as_ref().is_none_or(|t| t.label() != want) {
                continue;
            }
        }
        infos.push((slot, sinfo, tinfo));
    }
    if let Some(want) = token {
        if infos.is_empty() {
            return Err(Pkcs11Error::Token(format!(
                "no token labelled '{want}' in the PKCS#11 module '{}'",
                module.display()
            )));
        }
    }
    let mut out_slots = Vec::new();
    for (slot, sinfo, tinfo) in &infos {
        let token = match tinfo {
            None => None,
            Some(t) => {
                let shared_label = infos
                    .iter()
                    .filter(|(_, _, o)| o.as_ref().is_some_and(|o| o.label() == t.label()))
                    .count()
                    > 1;
                let mut listing = TokenListing {
                    label: t.label().to_string(),
                    manufacturer: t.manufacturer_id().to_string(),
                    model: t.model().to_string(),
                    serial: t.serial_number().to_string(),
                    initialized: t.token_initialized(),
                    login_required: t.login_required(),
                    logged_in: false,
                    keys: Vec::new(),
                };
                if t.token_initialized() {
                    let desc = token_description(*slot, t);
                    let session = m
                        .ctx
                        .open_ro_session(*slot)
                        .map_err(|e| call_error(format!("opening a session on {desc}"), &e))?;
                    if let Some(p) = pin {
                        if t.login_required() {
                            login(&session, &desc, Some(p))?;
                            listing.logged_in = true;
                        }
                    }
                    listing.keys = list_keys(
                        &session,
                        module,
                        t.label(),
                        shared_label.then(|| t.serial_number()),
                    )?;
                }
                Some(listing)
            }
        };
        out_slots.push(SlotListing {
            slot_id: slot.id(),
            description: sinfo.slot_description().to_string(),
            manufacturer: sinfo.manufacturer_id().to_string(),
            token,
        });
    }
    Ok(ModuleListing {
        module: module.to_path_buf(),
        manufacturer: info.manufacturer_id().to_string(),
        description: info.library_description().to_string(),
        version: info.library_version().to_string(),
        slots: out_slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rv_names() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            rv_name(RvError::KeyTypeInconsistent),
            "CKR_KEY_TYPE_INCONSISTENT"
        );
    }

    #[test]
    fn ec_params_and_points() {
        let p256_oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert_eq!(curve_from_params(&p256_oid), Ok(Curve::P256));
        // secp256k1
        let k1 = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];
        assert!(curve_from_params(&k1)
            .unwrap_err()
            .starts_with("1.3.132.0.10"));
        assert!(curve_from_params(&[0x13, 0x01, 0x41]).is_err());

        let key = crate::keys::PrivateKey::generate(Curve::P256).unwrap();
        let point = key.public_key().sec1_point().to_vec();
        let mut wrapped = vec![0x04, point.len() as u8];
        wrapped.extend_from_slice(&point);
        assert_eq!(
            public_from_point(Curve::P256, &wrapped).unwrap(),
            key.public_key()
        );
        assert_eq!(
            public_from_point(Curve::P256, &point).unwrap(),
            key.public_key()
        );
        assert!(public_from_point(Curve::P384, &wrapped).is_err());
    }
}
