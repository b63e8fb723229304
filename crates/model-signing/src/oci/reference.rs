//! `oci://REGISTRY/REPOSITORY:TAG` and `oci://REGISTRY/REPOSITORY@sha256:HEX` model paths.
//!
//! Both the registry and a tag or digest are required: no implicit `docker.io` or `latest`, so
//! what is signed is never a guess.

use crate::error::{Error, Result};

/// A parsed registry reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host[:port]`.
    pub registry: String,
    /// `path/to/repo` (lowercase, distribution grammar).
    pub repository: String,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The manifest digest, if given (it wins over the tag).
    pub digest: Option<[u8; 32]>,
}

impl OciRef {
    /// What to put in the manifest URL: the digest (`sha256:…`) if given, else the tag.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("sha256:{}", hex::encode(d)),
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        }
    }

    /// The statement's subject name: the repository's last path segment.
    pub fn subject_name(&self) -> String {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
            .to_string()
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@sha256:{}", hex::encode(d))?;
        }
        Ok(())
    }
}

fn bad(s: &str, why: &str) -> Error {
    Error::Config(format!(
        "invalid OCI reference '{}': {why} (expected oci://REGISTRY/REPOSITORY:TAG or \
         oci://REGISTRY/REPOSITORY@sha256:DIGEST)",
        s.chars().take(300).collect::<String>().escape_debug()
    ))
}

fn repo_component_ok(c: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty()
        || !b.first().copied().is_some_and(alnum)
        || !b.last().copied().is_some_and(alnum)
    {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let x = b.get(i).copied().unwrap_or(0);
        if alnum(x) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_' or '__', or one or more '-'.
        let start = i;
        while i < b.len() && !b.get(i).copied().is_some_and(alnum) {
            i += 1;
        }
        let sep = c.get(start..i).unwrap_or("");
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Parses an `oci://` model path.
pub fn parse(s: &str) -> Result<OciRef> {
    let rest = s
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("oci://"))
        .and_then(|_| s.get(6..))
        .ok_or_else(|| bad(s, "it does not start with oci://"))?;
    if rest.len() > 1024 {
        return Err(bad(s, "longer than 1024 characters"));
    }
    let (registry, path) = rest
        .split_once('/')
        .ok_or_else(|| bad(s, "no repository after the registry"))?;
    let host_ok = !registry.is_empty()
        && registry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return Err(bad(s, "the registry must be host[:port]"));
    }
    let (path, digest) = match path.split_once('@') {
        Some((p, d)) => (
            p,
            Some(
                super::image::parse_digest(d, "the reference")
                    .map_err(|e| bad(s, &format!("its digest: {}", crate::error::one_line(&e))))?,
            ),
        ),
        None => (path, None),
    };
    // A tag follows the last ':' after the last '/'.
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match path.get(last_slash..).and_then(|seg| seg.rfind(':')) {
        Some(i) => {
            let cut = last_slash + i;
            (
                path.get(..cut).unwrap_or(""),
                Some(path.get(cut + 1..).unwrap_or("").to_string()),
            )
        }
        None => (path, None),
    };
    if repository.is_empty() || repository.len() > 255 {
        return Err(bad(s, "the repository must be 1 to 255 characters"));
    }
    if !repository.split('/').all(repo_component_ok) {
        return Err(bad(
            s,
            "the repository must be lowercase letters, digits and . _ __ - separators",
        ));
    }
    if let Some(t) = &tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return Err(bad(s, "the tag must be [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
        }
    }
    if tag.is_none() && digest.is_none() {
        return Err(bad(s, "give a tag (:TAG) or a digest (@sha256:...)"));
    }
    Ok(OciRef {
        registry: registry.to_string(),
        repository: repository.to_string(),
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_digests_and_ports() {
        let r = parse("oci://127.0.0.1:5000/models/bert-base:v1.0").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "models/bert-base");
        assert_eq!(r.tag.as_deref(), Some("v1.0"));
        assert_eq!(r.subject_name(), "bert-base");
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse(&format!("OCI://ghcr.io/org/m@{d}")).unwrap();
        assert_eq!(r.reference(), d);
        assert_eq!(r.to_string(), format!("oci://ghcr.io/org/m@{d}"));
    }

    #[test]
    fn refuses_guesses_and_junk() {
        for s in [
            "oci://registry/model",
            "oci://model:v1",
            "oci:///m:v1",
            "oci://r/UPPER:v1",
            "oci://r/a..b:v1",
            "oci://r/m:-bad",
            "oci://r/m@sha256:abc",
            "oci://r/m@md5:00",
            "oci://r b/m:v1",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }
}
