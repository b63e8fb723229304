//! The PKCS#11 parts of the CLI: building the `sign pkcs11-key` / `sign pkcs11-certificate`
//! signers (with the PIN prompt) and `pkcs11 list`.
//!
//! The user PIN comes from, in order: the URI (`pin-value`, `pin-source`) or `pkcs11 list --pin`;
//! the environment variable [`PIN_ENV`] (empty counts as unset); a prompt on the terminal. The
//! library reads no environment: the PIN from [`PIN_ENV`] is handed to it as the URI's
//! `pin-value`.

use crate::args::{Pkcs11Action, Pkcs11ListArgs};
use anyhow::{Context, Result};
use model_signing::pkcs11::{
    self, KeyClass, ModuleListing, Pkcs11CertificateSigner, Pkcs11Error, Pkcs11Signer, Pkcs11Uri,
    Zeroizing,
};
use model_signing::x509::Certificate;
use std::io::IsTerminal;
use std::process::ExitCode;

use model_signing::pkcs11::PIN_ENV;

/// The PIN from [`PIN_ENV`], `None` when it is unset or empty.
fn env_pin() -> Result<Option<Zeroizing<String>>> {
    Ok(pkcs11::env_pin()?)
}

/// Asks for the token's PIN on the terminal; without a terminal, fails with a message that says how
/// to pass the PIN instead.
fn ask_pin(token: &str) -> Result<Zeroizing<String>, Pkcs11Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Pkcs11Error::Pin(format!(
            "the PKCS#11 URI has no pin-value or pin-source and no terminal is available to ask \
             for the PIN (add pin-source=FILE to the URI, or set {PIN_ENV})"
        )));
    }
    rpassword::prompt_password(format!("PIN for PKCS#11 {token}: "))
        .map(Zeroizing::new)
        .map_err(|e| Pkcs11Error::Pin(format!("cannot read the PIN: {e}")))
}

/// Opens the key a `--pkcs11-uri` names. Without a PIN in the URI, the PIN in [`PIN_ENV`] is used
/// as its `pin-value`; without that either, it is asked for when the token needs one.
pub fn key_signer(uri: &str) -> Result<Pkcs11Signer> {
    let mut uri = Pkcs11Uri::parse(uri)?;
    if !uri.has_pin() {
        uri.pin_value = env_pin()?;
    }
    let mut prompt = ask_pin;
    let signer = Pkcs11Signer::open(&uri, Some(&mut prompt))?;
    tracing::debug!("signing with the PKCS#11 {}", signer.description());
    Ok(signer)
}

/// Opens the key a `--pkcs11-uri` names and checks that `leaf` certifies it.
pub fn certificate_signer(
    uri: &str,
    leaf: Certificate,
    chain: Vec<Certificate>,
) -> Result<Pkcs11CertificateSigner> {
    let key = key_signer(uri)?;
    Ok(Pkcs11CertificateSigner::new(key, leaf, chain)?)
}

/// Runs a `pkcs11` subcommand.
pub fn run(action: Pkcs11Action) -> ExitCode {
    match action {
        Pkcs11Action::List(a) => match list(&a) {
            Ok(text) => crate::out::success(&text, "the module was listed"),
            Err(e) => {
                crate::out::stderr_line(&format!(
                    "Listing failed with error: {}",
                    model_signing::error::untrusted_text(
                        &model_signing::error::chain_text(e.as_ref()),
                        usize::MAX
                    )
                ));
                ExitCode::from(1)
            }
        },
    }
}

fn list(a: &Pkcs11ListArgs) -> Result<String> {
    let module = pkcs11::uri::resolve_module(&a.module)?;
    let pin = match &a.pin {
        Some(p) => Some(Zeroizing::new(p.clone())),
        None => env_pin()?,
    };
    let listing = pkcs11::list(
        &module,
        pin.as_ref().map(|p| p.as_bytes()),
        a.token.as_deref(),
    )
    .with_context(|| format!("cannot list the PKCS#11 module '{}'", module.display()))?;
    Ok(render(&listing, pin.is_some()))
}

/// The listing as text: one block per slot, one line per key plus its URI.
fn render(l: &ModuleListing, with_pin: bool) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Module: {} ({} by {}, version {})",
        l.module.display(),
        l.description,
        l.manufacturer,
        l.version
    );
    if l.slots.is_empty() {
        let _ = writeln!(o, "  no slots");
    }
    let mut any_key = false;
    let mut hidden = false;
    for slot in &l.slots {
        let _ = writeln!(o, "Slot {}: {}", slot.slot_id, slot.description);
        let Some(t) = &slot.token else {
            let _ = writeln!(o, "  no token");
            continue;
        };
        if !t.initialized {
            let _ = writeln!(o, "  Token: not initialized");
            continue;
        }
        let _ = writeln!(
            o,
            "  Token: '{}' (manufacturer '{}', model '{}', serial '{}')",
            t.label, t.manufacturer, t.model, t.serial
        );
        if t.login_required && !t.logged_in {
            hidden = true;
            let _ = writeln!(
                o,
                "    not logged in: private keys are not listed (pass --pin or set {PIN_ENV} to list them)"
            );
        }
        if t.keys.is_empty() {
            let _ = writeln!(o, "    no keys");
        }
        for k in &t.keys {
            any_key = true;
            let class = match k.class {
                KeyClass::Private => "private key",
                KeyClass::Public => "public key",
            };
            let name = match (k.label.is_empty(), k.id.is_empty()) {
                (false, false) => format!("'{}' id {}", k.label, pkcs11::uri::encode_id(&k.id)),
                (false, true) => format!("'{}'", k.label),
                (true, false) => format!("id {}", pkcs11::uri::encode_id(&k.id)),
                (true, true) => "(no label, no id)".into(),
            };
            let usable = if k.usable() {
                ""
            } else {
                " (cannot sign models: only EC P-256, P-384 and P-521 keys can)"
            };
            let _ = writeln!(o, "    {class} {name}: {}{usable}", k.key_type);
            let _ = writeln!(o, "      URI: {}", k.uri);
        }
    }
    if any_key {
        let _ = writeln!(
            o,
            "\nSign with: model-signing sign pkcs11-key --pkcs11-uri 'URI' MODEL \
             (the PIN is asked for; or add &pin-source=/path/to/pin-file to the URI, or set {PIN_ENV})"
        );
    }
    if hidden && !with_pin {
        let _ = writeln!(
            o,
            "Private keys are only listed after logging in: add --pin PIN or set {PIN_ENV}."
        );
    }
    o
}
