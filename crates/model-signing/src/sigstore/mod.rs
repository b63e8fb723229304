//! Sigstore keyless signing and verification.
//!
//! Every use of the `sigstore-*` crates (sigstore/sigstore-rust, pinned exactly in the workspace
//! manifest) is confined to this module, so that a version bump of those fast-moving crates touches
//! nothing else. Callers outside see only our own types: [`trust::TrustRoot`],
//! [`trust::TrustOptions`], [`verify::SigstoreVerifier`] and friends.
//!
//! * [`trust`] finds the trust material: a TrustedRoot file, a ClientTrustConfig file, the root cached
//!   by `model-signing trust-root update` (refreshed through TUF), or the roots embedded in the binary.
//! * [`verify`] checks a keyless bundle (certificate chain, SCT, transparency-log inclusion, RFC 3161
//!   timestamps, identity and issuer) and plugs into [`crate::verify::verify_bundle`] as a
//!   [`crate::verify::BundleVerifier`].

pub mod oidc;
pub mod self_check;
pub mod sign;
pub mod trust;
pub mod verify;

/// Which public Sigstore instance a command targets when no explicit trust material is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Instance {
    /// Sigstore's public-good production instance (the default).
    #[default]
    Production,
    /// Sigstore's public-good staging instance (`--use-staging`).
    Staging,
}

impl Instance {
    /// `production` or `staging`: the name used in log lines and cache paths.
    pub fn name(self) -> &'static str {
        match self {
            Instance::Production => "production",
            Instance::Staging => "staging",
        }
    }

    /// The instance `--use-staging` selects.
    pub fn from_staging_flag(use_staging: bool) -> Self {
        if use_staging {
            Instance::Staging
        } else {
            Instance::Production
        }
    }

    pub(crate) fn sigstore(self) -> sigstore_trust_root::SigstoreInstance {
        match self {
            Instance::Production => sigstore_trust_root::SigstoreInstance::PublicGood,
            Instance::Staging => sigstore_trust_root::SigstoreInstance::Staging,
        }
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The version of the sigstore-rust crates compiled in (for logs and reports).
pub const SIGSTORE_RUST_VERSION: &str = "0.15.1";

/// Rewrites protobuf-JSON documents into the spelling the sigstore-rust parsers expect.
///
/// Protobuf JSON allows either the lowerCamelCase or the original snake_case field name, and writers
/// differ (sigstore-python's own test trust config mixes `trustedRoot` with `signing_config`). The
/// sigstore-rust serde types accept only camelCase and reject an explicit `null` where proto3 means
/// "default" (model-signing < 1.1 wrote `"keyid": null`). None of the trust documents we read
/// (TrustedRoot, SigningConfig, ClientTrustConfig) has maps keyed by data, so renaming every key is
/// safe. Two keys that land on one name are an error: silently keeping one would let two readers of
/// the same file see different documents. (Bundles, which are attacker-supplied, go through the
/// stricter schema of [`crate::bundle::proto`] instead.)
pub(crate) fn normalize_proto_json(v: &serde_json::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::with_capacity(m.len());
            let mut seen = std::collections::HashSet::with_capacity(m.len());
            for (k, v) in m {
                let name = snake_to_camel(k);
                if !seen.insert(name.clone()) {
                    return Err(format!(
                        "field '{}' is given more than once (under several spellings)",
                        name.escape_debug()
                    ));
                }
                if !v.is_null() {
                    out.insert(name, normalize_proto_json(v)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a
            .iter()
            .map(normalize_proto_json)
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn snake_to_camel(k: &str) -> String {
    if !k.contains('_') {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len());
    let mut upper = false;
    for c in k.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) use crate::error::one_line;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proto_json_normalisation() {
        let v = json!({"media_type": "m", "trustedRoot": {"tlogs": [{"base_url": "u", "log_id": {"key_id": "k"}}]}, "x": null});
        assert_eq!(
            normalize_proto_json(&v).unwrap(),
            json!({"mediaType": "m", "trustedRoot": {"tlogs": [{"baseUrl": "u", "logId": {"keyId": "k"}}]}})
        );
        for dup in [
            json!({"media_type": "a", "mediaType": "b"}),
            json!({"x": [{"log_id": 1, "logId": null}]}),
            json!({"a__b": 1, "a_b": 2}),
        ] {
            assert!(normalize_proto_json(&dup).is_err(), "{dup}");
        }
        assert_eq!(snake_to_camel("rfc3161_timestamps"), "rfc3161Timestamps");
        assert_eq!(snake_to_camel("keyid"), "keyid");
    }
}
