//! Name constraints (v3_ncons.c).

use super::der::TAG_IA5;
use super::ext::{GeneralName, NameConstraints, Subtree};
use super::info::Info;
use super::name::string_to_utf8;
use super::oid::{oid_eq, OID_SMTP_UTF8_MAILBOX};
use const_oid::db::{rfc3280, rfc4519};

/// OpenSSL's guard against quadratic blow-up (`NAME_CHECK_MAX`).
const NAME_CHECK_MAX: usize = 1 << 20;

pub(super) fn check_name_constraints(
    subject: &Info,
    nc: &NameConstraints,
    is_leaf: bool,
) -> Result<(), String> {
    let name_count = subject.subject_attrs.len() + subject.exts.san.as_ref().map_or(0, Vec::len);
    let constraint_count = nc.permitted.len() + nc.excluded.len();
    if name_count > 0 && constraint_count > NAME_CHECK_MAX / name_count {
        return Err("too many names and constraints to check".into());
    }
    if !subject.subject_attrs.is_empty() {
        nc_match(&GeneralName::Dir(subject.subject_canon.clone()), nc)
            .map_err(|e| format!("subject name: {e}"))?;
        for attr in subject
            .subject_attrs
            .iter()
            .filter(|a| oid_eq(&a.oid, &rfc3280::EMAIL_ADDRESS))
        {
            if attr.tag != TAG_IA5 {
                return Err("subject emailAddress is not an IA5String".into());
            }
            let name = GeneralName::Email(attr.value.clone());
            nc_match(&name, nc).map_err(|e| format!("{}: {e}", name.describe()))?;
        }
    }
    let san = subject.exts.san.as_deref().unwrap_or(&[]);
    for name in san {
        nc_match(name, nc).map_err(|e| format!("{}: {e}", name.describe()))?;
    }
    // OpenSSL 3.0 also applies DNS constraints to a host-name-like commonName of the leaf when
    // the leaf has no DNS subjectAltName.
    let has_dns_san = san.iter().any(|n| matches!(n, GeneralName::Dns(_)));
    if is_leaf && !has_dns_san {
        for attr in subject
            .subject_attrs
            .iter()
            .filter(|a| oid_eq(&a.oid, &rfc4519::COMMON_NAME))
        {
            let utf8 = string_to_utf8(attr.tag, &attr.value)
                .ok_or_else(|| "commonName is not a string".to_string())?;
            if let Some(dns) = cn_as_dns_name(utf8)? {
                let name = GeneralName::Dns(dns);
                nc_match(&name, nc)
                    .map_err(|e| format!("commonName as {}: {e}", name.describe()))?;
            }
        }
    }
    Ok(())
}

/// OpenSSL's `cn2dnsid`: the commonName if it looks like a DNS name with at least two labels.
fn cn_as_dns_name(mut v: Vec<u8>) -> Result<Option<Vec<u8>>, String> {
    while v.last() == Some(&0) {
        v.pop();
    }
    if v.contains(&0) {
        return Err("commonName contains a NUL character".into());
    }
    let n = v.len();
    let mut is_dns = false;
    for (i, &c) in v.iter().enumerate() {
        if c.is_ascii_alphanumeric() || c == b'_' {
            continue;
        }
        if i > 0 && i + 1 < n {
            if c == b'-' {
                continue;
            }
            let next = v.get(i + 1).copied().unwrap_or(0);
            let prev = v.get(i - 1).copied().unwrap_or(0);
            if c == b'.' && next != b'.' && prev != b'-' && next != b'-' {
                is_dns = true;
                continue;
            }
        }
        is_dns = false;
        break;
    }
    Ok(is_dns.then_some(v))
}

fn nc_match(name: &GeneralName, nc: &NameConstraints) -> Result<(), String> {
    let other_oid = match name {
        GeneralName::Other(oid) => Some(oid.as_slice()),
        _ => None,
    };
    let effective = if other_oid.is_some_and(|o| oid_eq(o, &OID_SMTP_UTF8_MAILBOX)) {
        1
    } else {
        name.kind()
    };
    let applies = |sub: &Subtree| {
        if sub.base.kind() != effective {
            return false;
        }
        match (&sub.base, other_oid) {
            (GeneralName::Other(base_oid), Some(oid)) if effective == 0 => base_oid == oid,
            _ => true,
        }
    };
    let mut state = 0; // 0: no permitted subtree of this type, 1: none matched yet, 2: matched
    for sub in nc.permitted.iter().filter(|s| applies(s)) {
        if !sub.minmax_ok {
            return Err("subtree minimum/maximum is not supported".into());
        }
        if state == 2 {
            continue;
        }
        state = 1;
        if nc_match_single(effective, name, &sub.base)? {
            state = 2;
        }
    }
    if state == 1 {
        return Err("not within the permitted subtrees".into());
    }
    for sub in nc.excluded.iter().filter(|s| applies(s)) {
        if !sub.minmax_ok {
            return Err("subtree minimum/maximum is not supported".into());
        }
        if nc_match_single(effective, name, &sub.base)? {
            return Err(format!(
                "within the excluded subtree {}",
                sub.base.describe()
            ));
        }
    }
    Ok(())
}

fn nc_match_single(effective: u8, name: &GeneralName, base: &GeneralName) -> Result<bool, String> {
    match (name, base) {
        (GeneralName::Other(_), _) if effective == 1 => {
            Err("SmtpUTF8Mailbox names under rfc822Name constraints are not supported".into())
        }
        (GeneralName::Dir(n), GeneralName::Dir(b)) => Ok(n.starts_with(b)),
        (GeneralName::Dns(n), GeneralName::Dns(b)) => Ok(nc_dns(n, b)),
        (GeneralName::Email(n), GeneralName::Email(b)) => nc_email(n, b),
        (GeneralName::Uri(n), GeneralName::Uri(b)) => nc_uri(n, b),
        (GeneralName::Ip(n), GeneralName::Ip(b)) => nc_ip(n, b),
        _ => Err(format!(
            "unsupported constraint type for {}",
            name.describe()
        )),
    }
}

fn nc_dns(dns: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    let Some(off) = dns.len().checked_sub(base.len()) else {
        return false;
    };
    if off > 0 && base.first() != Some(&b'.') && dns.get(off - 1) != Some(&b'.') {
        return false;
    }
    dns.get(off..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(base))
}

fn nc_email(eml: &[u8], base: &[u8]) -> Result<bool, String> {
    let syntax = || "unsupported email syntax".to_string();
    let eml_at = eml.iter().rposition(|&c| c == b'@').ok_or_else(syntax)?;
    let base_at = base.iter().rposition(|&c| c == b'@');
    if base_at.is_none() && base.first() == Some(&b'.') {
        // A leading '.' matches any host in the domain.
        let Some(off) = eml.len().checked_sub(base.len()).filter(|o| *o > 0) else {
            return Ok(false);
        };
        return Ok(eml.get(off..).is_some_and(|t| t.eq_ignore_ascii_case(base)));
    }
    let mut base_host = base;
    if let Some(at) = base_at {
        if at != 0 {
            let base_local = base.get(..at).unwrap_or(&[]);
            let eml_local = eml.get(..eml_at).unwrap_or(&[]);
            if at != eml_at {
                return Ok(false);
            }
            if base_local.contains(&0) || eml_local.contains(&0) {
                return Err(syntax());
            }
            if base_local != eml_local {
                return Ok(false);
            }
        }
        base_host = base.get(at + 1..).unwrap_or(&[]);
    }
    let eml_host = eml.get(eml_at + 1..).unwrap_or(&[]);
    Ok(base_host.len() == eml_host.len() && base_host.eq_ignore_ascii_case(eml_host))
}

fn nc_uri(uri: &[u8], base: &[u8]) -> Result<bool, String> {
    let syntax = || "unsupported URI syntax".to_string();
    let colon = uri.iter().position(|&c| c == b':').ok_or_else(syntax)?;
    if uri.len() - colon < 3
        || uri.get(colon + 1) != Some(&b'/')
        || uri.get(colon + 2) != Some(&b'/')
    {
        return Err(syntax());
    }
    let rest = uri.get(colon + 3..).unwrap_or(&[]);
    let host_len = rest
        .iter()
        .position(|&c| c == b':')
        .or_else(|| rest.iter().position(|&c| c == b'/'))
        .unwrap_or(rest.len());
    if host_len == 0 {
        return Err(syntax());
    }
    let host = rest.get(..host_len).unwrap_or(&[]);
    if base.first() == Some(&b'.') {
        let Some(off) = host.len().checked_sub(base.len()).filter(|o| *o > 0) else {
            return Ok(false);
        };
        return Ok(host
            .get(off..)
            .is_some_and(|t| t.eq_ignore_ascii_case(base)));
    }
    Ok(base.len() == host.len() && host.eq_ignore_ascii_case(base))
}

fn nc_ip(ip: &[u8], base: &[u8]) -> Result<bool, String> {
    if ip.len() != 4 && ip.len() != 16 {
        return Err("unsupported IP address syntax".into());
    }
    if base.len() != 8 && base.len() != 32 {
        return Err("unsupported IP address constraint syntax".into());
    }
    if ip.len() * 2 != base.len() {
        return Ok(false);
    }
    let (addr, mask) = base.split_at(ip.len());
    Ok(ip
        .iter()
        .zip(addr)
        .zip(mask)
        .all(|((h, b), m)| h & m == b & m))
}
