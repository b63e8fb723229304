//! Every bound the library puts on work, memory and time, in one place.
//!
//! SECURITY.md's table of bounds lists these values; `tests/limits_documented.rs` checks that
//! each constant here appears there with its value, so the two cannot drift apart. Modules keep
//! their historical public names as re-exports of these.

use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Hashing and walking models
// ---------------------------------------------------------------------------------------------

/// Most hashing threads one engine starts. Every thread is started up front (a rayon pool), so an
/// unbounded count was a way to exhaust a machine (100,000 threads were killed by the kernel);
/// more than this is refused with a message rather than quietly lowered.
pub const MAX_WORKERS: usize = 256;

/// Deepest directory tree walked (levels below the model's root). The walk recurses once per
/// level; a tree 967 levels deep overflowed a worker's stack, and anyone who can add directories
/// to a model can make one. Models are a few levels deep.
pub const MAX_TREE_DEPTH: usize = 256;

/// Longest wait for directory `flock`s ([`crate::atomic`]): a writer renaming a signature into
/// place waits for walks listing that directory, and they for it; a walk waits this long in all,
/// over all its directories. Both hold a lock for a moment; anyone who can read the model can hold
/// one for ever, which costs a walk and a rename at most this each, then the work goes on without
/// the lock.
pub const DIR_LOCK_WAIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// OCI registries
// ---------------------------------------------------------------------------------------------

/// Largest OCI manifest, index or referrers index read (registries cap theirs at 4 MiB; the
/// Distribution default). Read into a tree that keeps every key ([`crate::oci::json`]): about
/// ten times this in memory at most.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Most layers in an image manifest, and entries in an index.
pub const MAX_LAYERS: usize = 10_000;

/// Largest registry error response read (a line of it goes into the message).
pub const MAX_REGISTRY_ERROR_BYTES: usize = 4096;

/// Largest registry token response read.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 1 << 20;

/// Time one registry request may take.
pub const REGISTRY_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Time all the registry requests of one operation may take together (fetching an image;
/// discovering, fetching and verifying its attached signatures; attaching one).
pub const REGISTRY_DEADLINE: Duration = Duration::from_secs(120);

/// Largest signature bundle fetched from a registry, where it is read before its signature is
/// checked. A real bundle is a few KiB; the statement of an image with the most layers
/// ([`MAX_LAYERS`]) and the largest manifest stays under this, and signing refuses to attach a
/// bundle over it, so every bundle we attach can be discovered.
pub const MAX_ATTACHED_BUNDLE_BYTES: usize = 8 << 20;

/// Most signatures tried when discovering them in a registry (candidates are fetched and
/// verified one at a time, a repeated digest once), and kept under one fallback tag.
pub const MAX_ATTACHED_BUNDLES: usize = 16;

// ---------------------------------------------------------------------------------------------
// Bundles (signature files)
// ---------------------------------------------------------------------------------------------

/// Bundles larger than this are refused before parsing: even a 100k-file manifest is ~20 MB.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// Most transparency-log entries a bundle may carry (Sigstore writes one; model-signing needs one).
pub const MAX_TLOG_ENTRIES: usize = 8;

/// Most RFC 3161 timestamps a bundle may carry (one per TSA a signer asked).
pub const MAX_TIMESTAMPS: usize = 16;

/// Most DSSE signatures read before the "exactly one" rule rejects the envelope.
pub const MAX_SIGNATURES: usize = 16;

/// Most hashes in an inclusion proof: a Merkle tree of up to 2^64 leaves needs 64.
pub const MAX_PROOF_HASHES: usize = 64;

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/// Manifests with more resources than this are refused: ten million files or shards is far beyond
/// any real model, and the limit keeps a hostile bundle from exhausting memory.
pub const MAX_RESOURCES: usize = 10_000_000;

/// The most paths an [`IgnoreSet`](crate::walk::IgnoreSet) holds. A signed statement may record any number of ignore
/// paths, so this bounds what a bundle can make the verifier store and look up: a million paths is
/// far more than any real model needs (an ignore covers a whole subtree, so a few suffice), costs
/// about 100 MB and under a second to load, and fits in a bundle well below the 256 MiB size cap.
/// A longer list is refused with an error rather than silently truncated.
pub const MAX_IGNORE_PATHS: usize = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/// Largest DER certificate accepted, in bytes (64 KiB).
///
/// Real certificates are 1-10 KB (a Fulcio leaf with its SCTs is about 2 KB; an RSA-8192 CA with
/// long policies stays well under 16 KB). The bound exists because the signature check of a
/// certificate hashes its whole TBSCertificate: without it, a bundle could carry a leaf with a
/// 20 MB extension and make every issuer candidate re-hash it, before any key is checked.
/// [`Certificate::from_der`](crate::x509::Certificate::from_der) refuses larger inputs; the bundle reader uses it to refuse oversized
/// bundles early.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Largest number of certificates a bundle's chain may hold: the leaf plus at most 15
/// intermediates.
///
/// Real chains are a leaf and one to three intermediates. Together with
/// [`MAX_CERTIFICATE_BYTES`] this bounds what an unauthenticated bundle can make path building do
/// (at most 16 x 16 untrusted signature checks of at most 64 KiB each). [`validate_chain`](crate::x509::validate_chain) refuses
/// more than `MAX_CHAIN_CERTIFICATES - 1` intermediates; the bundle reader uses it to refuse
/// oversized bundles early.
pub const MAX_CHAIN_CERTIFICATES: usize = 16;

/// Largest number of trust anchors [`validate_chain`](crate::x509::validate_chain) accepts.
///
/// Anchors come from the user's own `--certificate-chain` files, not from the bundle, so the bound
/// is generous: a system CA bundle holds about 150 roots. It only keeps the path search (which
/// scans the anchors for issuers at every step) bounded whatever file is passed.
pub const MAX_TRUST_ANCHORS: usize = 1_000;

/// Wall-clock budget of one path search in [`validate_chain`](crate::x509::validate_chain), on top of its step budget.
///
/// Real chains are built in well under a millisecond; the step budget (10,000 path extensions and
/// signature checks) already bounds look-alike meshes, and this deadline caps the cost of whatever
/// the step count does not capture (slow RSA-8192 checks, a loaded machine). Exceeding it fails
/// validation with [`ChainError::Limit`](crate::x509::ChainError::Limit).
pub const PATH_BUILDING_DEADLINE: Duration = Duration::from_secs(2);

/// OpenSSL's default verify depth is 100, i.e. at most 101 certificates in a path.
pub const MAX_PATH_LEN: usize = 101;

/// Bound on the work of path building (path extensions plus signature verifications) when a
/// bundle holds many certificates with the same names. Each unit is cheap: signature results are
/// memoised per (child, issuer) pair, each TBSCertificate is hashed once per hash algorithm, and
/// no certificate exceeds [`MAX_CERTIFICATE_BYTES`]. [`PATH_BUILDING_DEADLINE`] bounds the
/// wall-clock time on top.
pub const MAX_STEPS: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

/// Largest accepted DER TimeStampResp: real ones are 1 to 8 KiB (with certificates).
pub const MAX_TIMESTAMP_BYTES: usize = 64 * 1024;

/// Largest PEM file of one TSA chain.
pub const MAX_CHAIN_FILE_BYTES: u64 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// Largest key, certificate or certificate-chain file read (a chain of 16 certificates of 64 KiB
/// in PEM fits). Read as regular files only: a FIFO or `/dev/zero` given by mistake fails at
/// once instead of hanging or filling memory.
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// Most PBKDF2 iterations accepted: 1000x OpenSSL's default of 2048, above OWASP's recommendations
/// (600,000 for SHA-256). The count is read from the file, so without a bound a few bytes could
/// make loading the key run for an hour (u32::MAX iterations).
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;

/// Most memory scrypt may use, 128·r·(N + p) bytes: OpenSSL's own limit (`SCRYPT_MAX_MEM`), so no
/// key the Python reference loads is refused for its memory. Unbounded, `N` up to 2^64 from the
/// file would make the allocation fail and abort the process.
pub const MAX_SCRYPT_MEMORY: u64 = 32 * 1024 * 1024;

/// Most scrypt work, 128·N·r·p bytes mixed: 16x `openssl pkcs8 -scrypt`'s (N=2^14, r=8, p=1).
pub const MAX_SCRYPT_WORK: u64 = 256 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Secrets and trust files
// ---------------------------------------------------------------------------------------------

/// The largest password or OAuth client-secret file read, in bytes.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// The largest Docker config (`config.json`, which holds registry credentials) read, in bytes.
pub const MAX_DOCKER_CONFIG_BYTES: u64 = 1 << 20;

/// The largest `pin-source` file read, in bytes.
pub const MAX_PIN_FILE_BYTES: u64 = 4096;

/// Trust files bigger than this are refused: the production root is about 10 KB.
pub const MAX_TRUST_FILE_BYTES: u64 = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

/// Largest HTTP response body read from an OIDC issuer (discovery documents and tokens are
/// small).
pub const MAX_OIDC_RESPONSE_BYTES: usize = 1 << 20;

/// Largest request head accepted by the OAuth loopback listener.
pub const MAX_LOOPBACK_REQUEST_HEAD: usize = 8192;

// ---------------------------------------------------------------------------------------------
// Trust policies
// ---------------------------------------------------------------------------------------------

/// Largest policy file read ([`crate::policy`]): a policy names a few models and signers.
pub const MAX_POLICY_FILE_BYTES: u64 = 1 << 20;

/// Most rules one policy may hold (each is matched against the model in turn).
pub const MAX_POLICY_RULES: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Attestations
// ---------------------------------------------------------------------------------------------

/// Largest claims file read or appended to ([`crate::attest`]): a model's lifecycle adds a few
/// attestations, each a bundle of a few KiB.
pub const MAX_CLAIMS_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Most lines (attestations) one claims file may hold; each is signature-checked when it is read.
pub const MAX_CLAIMS_LINES: usize = 1_000;

/// Largest model card or evaluation-results file read to attest it.
pub const MAX_CARD_BYTES: u64 = 4 * 1024 * 1024;

/// Most results one evaluation attestation may hold.
pub const MAX_EVAL_RESULTS: usize = 10_000;
