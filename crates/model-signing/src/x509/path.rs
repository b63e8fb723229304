//! Path building: the search from the leaf to a trust anchor and the checks of a built path.

use super::algorithm::{verify_signed_by, HashAlg, SigFailure};
use super::constraints::check_name_constraints;
use super::info::likely_issued;
use super::time::format_secs;
use super::{Certificate, ChainError};
use aws_lc_rs::digest;
use std::collections::HashMap;
use std::time::Instant;

use crate::limits::MAX_PATH_LEN;
pub(super) use crate::limits::MAX_STEPS;

#[derive(Clone, Copy)]
pub(super) struct Step {
    pub(super) node: usize,
    /// The certificate came from the trust store; from here on issuers must be trusted too.
    pub(super) trusted_phase: bool,
}

/// Issuer candidates of one certificate, in the order they are tried (before removing those
/// already in the path).
struct Candidates {
    trusted: Vec<usize>,
    untrusted: Vec<usize>,
}

pub(super) struct PathBuilder<'a> {
    pub(super) certs: Vec<&'a Certificate>,
    trusted: Vec<bool>,
    untrusted_candidate: Vec<bool>,
    at: i64,
    /// Signature results per (child, issuer) node pair: the search never verifies a pair twice,
    /// however many paths lead to it.
    pub(super) sig_cache: HashMap<(usize, usize), Result<(), SigFailure>>,
    /// Digests of each node's TBSCertificate per hash algorithm, so that trying many look-alike
    /// issuers of one certificate hashes it once.
    pub(super) digests: HashMap<(usize, HashAlg), digest::Digest>,
    /// Issuer candidates per node, computed on first visit (they depend on the node only).
    candidates: Vec<Option<Candidates>>,
    pub(super) steps: usize,
    deadline: Instant,
    pub(super) timed_out: bool,
    /// The most informative error so far, with its rank (higher = got further).
    pub(super) best: Option<(u8, ChainError)>,
}

const RANK_NO_ISSUER: u8 = 1;
const RANK_SIGNATURE: u8 = 2;
const RANK_PATH: u8 = 3;

impl<'a> PathBuilder<'a> {
    pub(super) fn new(
        leaf: &'a Certificate,
        intermediates: &'a [Certificate],
        anchors: &'a [Certificate],
        at: i64,
        deadline: Instant,
    ) -> Self {
        let mut b = PathBuilder {
            certs: vec![leaf],
            trusted: vec![false],
            untrusted_candidate: vec![false],
            at,
            sig_cache: HashMap::new(),
            digests: HashMap::new(),
            candidates: Vec::new(),
            steps: 0,
            deadline,
            timed_out: false,
            best: None,
        };
        // Certificates are identified by their DER, as OpenSSL's X509_cmp does.
        for c in intermediates {
            if !b.certs.iter().any(|x| x.der == c.der) {
                b.certs.push(c);
                b.trusted.push(false);
                b.untrusted_candidate.push(true);
            }
        }
        for a in anchors {
            match b.certs.iter().position(|x| x.der == a.der) {
                Some(i) => {
                    if let Some(t) = b.trusted.get_mut(i) {
                        *t = true;
                    }
                }
                None => {
                    b.certs.push(a);
                    b.trusted.push(true);
                    b.untrusted_candidate.push(false);
                }
            }
        }
        b.candidates = b.certs.iter().map(|_| None).collect();
        b
    }

    fn cert(&self, i: usize) -> Option<&'a Certificate> {
        self.certs.get(i).copied()
    }

    fn leaf_subject(&self) -> String {
        self.cert(0).map(Certificate::subject).unwrap_or_default()
    }

    fn note(&mut self, rank: u8, err: ChainError) {
        if self.best.as_ref().is_none_or(|(r, _)| rank > *r) {
            self.best = Some((rank, err));
        }
    }

    fn no_root(&mut self, reason: String) {
        let leaf = self.leaf_subject();
        self.note(RANK_NO_ISSUER, ChainError::NoTrustedRoot { leaf, reason });
    }

    /// Extends `path` towards a trusted self-signed certificate; true once a full path passed
    /// all checks.
    pub(super) fn extend(&mut self, path: &mut Vec<Step>) -> bool {
        let Some(&Step {
            node: cur,
            trusted_phase,
        }) = path.last()
        else {
            return false;
        };
        let Some(cert) = self.cert(cur) else {
            return false;
        };
        if self.exhausted() {
            return false;
        }
        if cert.info.self_signed {
            if self.trusted.get(cur).copied().unwrap_or(false) {
                return match self.check_path(path) {
                    Ok(()) => true,
                    Err(e) => {
                        self.note(RANK_PATH, e);
                        false
                    }
                };
            }
            // OpenSSL decides self-signedness from names and key identifiers only, so a
            // self-issued certificate without key identifiers counts even if another key signed it.
            let looks_only = self.check_signature(cur, cur).is_err();
            let what = if looks_only {
                "counts as self-signed (subject equals issuer and no key identifiers tell them apart)"
            } else {
                "is self-signed"
            };
            let reason = if path.len() == 1 {
                format!("it {what} and is not among the trusted certificates")
            } else {
                format!(
                    "the chain ends at '{}', which {what} and is not among the trusted certificates",
                    cert.subject()
                )
            };
            self.no_root(reason);
            return false;
        }
        if path.len() >= MAX_PATH_LEN {
            self.no_root(format!(
                "the chain is longer than {MAX_PATH_LEN} certificates"
            ));
            return false;
        }

        let in_path = |j: usize| path.iter().any(|s| s.node == j);
        let all = self.candidates_of(cur);
        let candidates: Vec<(usize, bool)> = all
            .trusted
            .iter()
            .map(|&j| (j, true))
            .chain(
                all.untrusted
                    .iter()
                    .filter(|_| !trusted_phase)
                    .map(|&j| (j, false)),
            )
            .filter(|&(j, _)| !in_path(j))
            .collect();

        if candidates.is_empty() {
            let reason = if trusted_phase {
                format!(
                    "'{}' is trusted but not self-signed, and its issuer '{}' is not among the trusted certificates (partial chains are not accepted)",
                    cert.subject(),
                    cert.issuer()
                )
            } else if cur == 0 {
                format!("issuer '{}' not in the chain or anchors", cert.issuer())
            } else {
                format!(
                    "issuer '{}' of '{}' not in the chain or anchors",
                    cert.issuer(),
                    cert.subject()
                )
            };
            self.no_root(reason);
            return false;
        }

        for (j, from_trust_store) in candidates {
            if self.timed_out {
                return false;
            }
            if !self.signature_ok(cur, j) {
                continue;
            }
            path.push(Step {
                node: j,
                trusted_phase: from_trust_store,
            });
            if self.extend(path) {
                return true;
            }
            path.pop();
        }
        false
    }

    /// The issuer candidates of node `cur` in the order OpenSSL tries them: trusted ones first
    /// ("trusted first"), each group with issuers valid at the verification time first, then by
    /// latest notAfter; equal keys keep the input order. Computed once per node.
    fn candidates_of(&mut self, cur: usize) -> &Candidates {
        if self.candidates.get(cur).is_some_and(Option::is_none) {
            let computed = self.compute_candidates(cur);
            if let Some(slot) = self.candidates.get_mut(cur) {
                *slot = Some(computed);
            }
        }
        static EMPTY: Candidates = Candidates {
            trusted: Vec::new(),
            untrusted: Vec::new(),
        };
        self.candidates
            .get(cur)
            .and_then(Option::as_ref)
            .unwrap_or(&EMPTY)
    }

    fn compute_candidates(&self, cur: usize) -> Candidates {
        let mut trusted = Vec::new();
        let mut untrusted = Vec::new();
        let Some(cert) = self.cert(cur) else {
            return Candidates { trusted, untrusted };
        };
        for (j, c) in self.certs.iter().enumerate() {
            if j == cur || !likely_issued(&c.info, &cert.info) {
                continue;
            }
            if self.trusted.get(j).copied().unwrap_or(false) {
                trusted.push(j);
            } else if self.untrusted_candidate.get(j).copied().unwrap_or(false) {
                untrusted.push(j);
            }
        }
        // OpenSSL prefers issuers valid at the verification time, then the latest notAfter.
        let at = self.at;
        let certs = &self.certs;
        let order = |j: &usize| {
            certs.get(*j).map_or((true, 0), |c| {
                let valid = c.info.valid_at(at);
                (!valid, if valid { 0 } else { -c.info.not_after })
            })
        };
        trusted.sort_by_key(order);
        untrusted.sort_by_key(order);
        Candidates { trusted, untrusted }
    }

    /// Counts one unit of work; true (after noting why) once the step budget or the time is spent.
    fn exhausted(&mut self) -> bool {
        self.steps += 1;
        if !self.timed_out && Instant::now() >= self.deadline {
            self.timed_out = true;
        }
        if self.timed_out {
            return true;
        }
        if self.steps == MAX_STEPS + 1 {
            self.no_root(format!(
                "gave up after {MAX_STEPS} path-building steps among look-alike certificates"
            ));
        }
        self.steps > MAX_STEPS
    }

    /// The signature check of `child` by `issuer`, done at most once per pair.
    fn check_signature(&mut self, child: usize, issuer: usize) -> Result<(), SigFailure> {
        if let Some(result) = self.sig_cache.get(&(child, issuer)) {
            return result.clone();
        }
        let (Some(c), Some(i)) = (self.cert(child), self.cert(issuer)) else {
            return Err(SigFailure::Mismatch);
        };
        let digests = &mut self.digests;
        let tbs = &c.info.tbs;
        let result = verify_signed_by(&c.info, &i.info, &mut |hash| {
            *digests
                .entry((child, hash))
                .or_insert_with(|| hash.digest(tbs))
        });
        self.sig_cache.insert((child, issuer), result.clone());
        result
    }

    fn signature_ok(&mut self, child: usize, issuer: usize) -> bool {
        if let Some(result) = self.sig_cache.get(&(child, issuer)) {
            return result.is_ok();
        }
        if self.exhausted() {
            return false;
        }
        let (Some(c), Some(i)) = (self.cert(child), self.cert(issuer)) else {
            return false;
        };
        match self.check_signature(child, issuer) {
            Ok(()) => true,
            Err(SigFailure::Mismatch) => {
                self.note(
                    RANK_SIGNATURE,
                    ChainError::BadSignature {
                        subject: c.subject(),
                        issuer: i.subject(),
                    },
                );
                false
            }
            Err(SigFailure::Unsupported(algorithm)) => {
                self.note(
                    RANK_SIGNATURE,
                    ChainError::UnsupportedAlgorithm {
                        subject: c.subject(),
                        algorithm,
                    },
                );
                false
            }
        }
    }

    /// The checks OpenSSL runs on a built chain: `check_extensions`, then the validity periods of
    /// `internal_verify` (signatures were verified while building), then name constraints.
    fn check_path(&self, path: &[Step]) -> Result<(), ChainError> {
        let chain: Vec<&Certificate> = path.iter().filter_map(|s| self.cert(s.node)).collect();
        let n = chain.len();

        for c in &chain {
            if let Some(reason) = &c.info.exts.invalid {
                return Err(ChainError::InvalidExtension {
                    subject: c.subject(),
                    reason: reason.clone(),
                });
            }
        }

        let mut plen = 0usize;
        for (i, c) in chain.iter().enumerate() {
            let info = &c.info;
            let unacceptable = |reason: &str| ChainError::Unacceptable {
                subject: c.subject(),
                reason: reason.to_string(),
            };
            if let Some(oid) = &info.exts.unhandled_critical {
                return Err(ChainError::UnhandledCriticalExtension {
                    subject: c.subject(),
                    oid: oid.clone(),
                });
            }
            if info.exts.proxy {
                return Err(unacceptable("proxy certificates are not allowed"));
            }
            if info.exts.rfc3779 {
                return Err(unacceptable(
                    "RFC 3779 IP address / AS number extensions are not supported",
                ));
            }
            if i > 0 {
                let ca = info.check_ca();
                let subject = chain.get(i - 1).map(|s| s.subject()).unwrap_or_default();
                if ca == 0 {
                    return Err(ChainError::NotCa {
                        issuer: c.subject(),
                        subject,
                        reason: info.not_ca_reason(),
                    });
                }
                if i + 1 < n && ca != 1 {
                    let reason = match ca {
                        3 => "a v1 certificate can only be a root",
                        4 => "no basicConstraints CA:TRUE; only a root may rely on keyUsage",
                        _ => "no basicConstraints CA:TRUE; only a root may rely on nsCertType",
                    };
                    return Err(ChainError::NotCa {
                        issuer: c.subject(),
                        subject,
                        reason: reason.into(),
                    });
                }
            }
            if let Some(problem) = info.key_problem(n > 1) {
                return Err(unacceptable(&problem));
            }
            if let Some((_, Some(pathlen))) = info.exts.basic {
                if i > 1 && plen as u64 > pathlen {
                    return Err(ChainError::PathLength {
                        issuer: c.subject(),
                        pathlen,
                        below: plen,
                    });
                }
            }
            if i > 0 && !info.self_issued {
                plen += 1;
            }
        }

        for c in chain.iter().rev() {
            let info = &c.info;
            let times = || {
                (
                    format_secs(info.not_before),
                    format_secs(info.not_after),
                    format_secs(self.at),
                )
            };
            if self.at < info.not_before {
                let (not_before, not_after, at) = times();
                return Err(ChainError::NotYetValid {
                    subject: c.subject(),
                    not_before,
                    not_after,
                    at,
                });
            }
            if self.at >= info.not_after {
                let (not_before, not_after, at) = times();
                return Err(ChainError::Expired {
                    subject: c.subject(),
                    not_before,
                    not_after,
                    at,
                });
            }
        }

        for (i, c) in chain.iter().enumerate().rev() {
            if i != 0 && c.info.self_issued {
                continue;
            }
            for ca in chain.iter().skip(i + 1).rev() {
                if let Some(nc) = &ca.info.exts.name_constraints {
                    check_name_constraints(&c.info, nc, i == 0).map_err(|reason| {
                        ChainError::NameConstraints {
                            subject: c.subject(),
                            issuer: ca.subject(),
                            reason,
                        }
                    })?;
                }
            }
        }
        Ok(())
    }
}
