//! Arguments of `attest` and `provenance`.
//!
//! `attest KIND [METHOD] MODEL ...`: the method and its flags are exactly `sign`'s
//! ([`SignMethod`]); the kind's own flags are global to its subcommands, so they may stand before
//! or after the method's. `provenance show [METHOD] MODEL ...` takes `verify`'s methods;
//! `provenance query [METHOD] --uses PURL CLAIMS...` their trust flags without a model.

use crate::args::{
    CertificateTrust, KeyTrust, OutputFormat, SignMethod, SigstoreTrust, VerifyMethod,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// What `attest` signs.
#[derive(Debug, Subcommand)]
pub enum AttestKind {
    /// SLSA provenance v1 of a training run: code, datasets, base models, packages, builder.
    Provenance(Box<ProvenanceCmd>),
    /// A model card (README.md): its digest and its YAML front matter.
    #[command(name = "model-card")]
    ModelCard(ModelCardCmd),
    /// Evaluation results: benchmark, metric, value, dataset digest, evaluator.
    Eval(EvalCmd),
}

impl AttestKind {
    /// The signing method and its options.
    pub fn method(&self) -> &SignMethod {
        match self {
            AttestKind::Provenance(c) => &c.method,
            AttestKind::ModelCard(c) => &c.method,
            AttestKind::Eval(c) => &c.method,
        }
    }
}

/// Where the attestation goes (every kind).
#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// The claims file to append to (default: claims.jsonl beside --signature).
    #[arg(long, value_name = "PATH", global = true)]
    pub attestations: Option<PathBuf>,
}

/// `attest provenance`.
#[derive(Debug, Args)]
pub struct ProvenanceCmd {
    #[command(flatten)]
    pub claims: ClaimsArgs,
    #[command(flatten)]
    pub args: ProvenanceArgs,
    /// Signing method (as for `sign`).
    #[command(subcommand)]
    pub method: SignMethod,
}

/// What a provenance records.
#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// A dataset trained on: a directory or file (digested as `digest` would, leaving out its own
    /// model.sig and claims.jsonl) or [NAME=]sha256:HEX (repeatable).
    #[arg(long, value_name = "PATH|sha256:HEX", global = true, action = clap::ArgAction::Append)]
    pub dataset: Vec<String>,
    /// A model fine-tuned from, as for --dataset (repeatable).
    #[arg(long, value_name = "PATH|sha256:HEX", global = true, action = clap::ArgAction::Append)]
    pub base_model: Vec<String>,
    /// A framework or library as a package URL with its version, e.g. pkg:pypi/torch@2.5.1
    /// (repeatable).
    #[arg(long, value_name = "PURL", global = true, action = clap::ArgAction::Append)]
    pub dependency: Vec<String>,
    /// The training code's repository URL (with --source-commit).
    #[arg(long, value_name = "URL", global = true)]
    pub source_repo: Option<String>,
    /// The training code's git commit (40 or 64 hex digits).
    #[arg(long, value_name = "SHA", global = true)]
    pub source_commit: Option<String>,
    /// The git ref that was built (e.g. refs/heads/main).
    #[arg(long, value_name = "REF", global = true)]
    pub source_ref: Option<String>,
    /// The training entry point (script or workflow).
    #[arg(long, value_name = "ENTRY_POINT", global = true)]
    pub entry_point: Option<String>,
    /// A hyperparameter (repeatable; the value is recorded as a string; overrides --params-file).
    #[arg(long, value_name = "K=V", global = true, action = clap::ArgAction::Append)]
    pub param: Vec<String>,
    /// Hyperparameters from a JSON object.
    #[arg(long, value_name = "JSON_PATH", global = true)]
    pub params_file: Option<PathBuf>,
    /// Who ran the training (a URI); default on GitHub Actions and GitLab CI: the workflow or
    /// pipeline that ran.
    #[arg(long, value_name = "URI", global = true)]
    pub builder_id: Option<String>,
    /// This run's id (default on CI: the run's or job's URL).
    #[arg(long, value_name = "ID", global = true)]
    pub invocation_id: Option<String>,
    /// When training started (RFC 3339 UTC).
    #[arg(long, value_name = "TIME", global = true)]
    pub started_on: Option<String>,
    /// When training finished (RFC 3339 UTC; default: now).
    #[arg(long, value_name = "TIME", global = true)]
    pub finished_on: Option<String>,
    /// Do not fill anything in from the CI platform's environment variables.
    #[arg(long, global = true)]
    pub no_ci_environment: bool,
}

/// `attest model-card`.
#[derive(Debug, Args)]
pub struct ModelCardCmd {
    #[command(flatten)]
    pub claims: ClaimsArgs,
    /// The model card (Markdown with optional YAML front matter), e.g. MODEL/README.md.
    #[arg(long, value_name = "PATH", global = true)]
    pub card: Option<PathBuf>,
    /// Signing method (as for `sign`).
    #[command(subcommand)]
    pub method: SignMethod,
}

/// `attest eval`.
#[derive(Debug, Args)]
pub struct EvalCmd {
    #[command(flatten)]
    pub claims: ClaimsArgs,
    /// The results (JSON: {"evaluator": ..., "results": [{"benchmark", "metric", "value",
    /// "dataset", "samples"}]}).
    #[arg(long, value_name = "PATH", global = true)]
    pub results: Option<PathBuf>,
    /// Who evaluated (overrides the file's "evaluator").
    #[arg(long, value_name = "NAME", global = true)]
    pub evaluator: Option<String>,
    /// Signing method (as for `sign`).
    #[command(subcommand)]
    pub method: SignMethod,
}

/// `provenance` actions.
#[derive(Debug, Subcommand)]
pub enum ProvenanceAction {
    /// Verify a model, its signature and its attestations, and print its lineage as a tree.
    Show(ShowCmd),
    /// List the models whose verified provenance records a package (version or range).
    Query(QueryCmd),
}

/// `provenance show`.
#[derive(Debug, Args)]
pub struct ShowCmd {
    /// A signed local copy of a dataset or base model the provenance names, checked against it:
    /// PATH (signature PATH/model.sig) or PATH=SIGNATURE (repeatable).
    #[arg(long, value_name = "PATH[=SIGNATURE]", global = true, action = clap::ArgAction::Append)]
    pub dependency_copy: Vec<String>,
    /// Verification method (as for `verify`).
    #[command(subcommand)]
    pub method: VerifyMethod,
}

/// `provenance query`.
#[derive(Debug, Args)]
pub struct QueryCmd {
    /// Verification method: whose attestations count.
    #[command(subcommand)]
    pub method: QueryMethod,
}

/// What every query method shares.
#[derive(Debug, Args)]
pub struct CommonQuery {
    /// The claims files to search (every line of each must verify).
    #[arg(value_name = "CLAIMS", required = true)]
    pub claims: Vec<PathBuf>,
    /// The package: pkg:TYPE/NAME, pkg:TYPE/NAME@VERSION or pkg:TYPE/NAME@RANGE (e.g.
    /// 'pkg:pypi/torch@>=2.0,<2.2').
    #[arg(long, value_name = "PURL", required = true)]
    pub uses: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

/// `provenance query` methods (a policy picks signers by model, and a query has no model).
#[derive(Debug, Subcommand)]
pub enum QueryMethod {
    /// Trust a Sigstore identity.
    Sigstore(QuerySigstoreArgs),
    /// Trust an EC public key.
    Key(QueryKeyArgs),
    /// Trust root certificates.
    Certificate(QueryCertificateArgs),
}

impl QueryMethod {
    /// The options every method shares.
    pub fn common(&self) -> &CommonQuery {
        match self {
            QueryMethod::Sigstore(a) => &a.common,
            QueryMethod::Key(a) => &a.common,
            QueryMethod::Certificate(a) => &a.common,
        }
    }
}

/// `provenance query sigstore`.
#[derive(Debug, Args)]
pub struct QuerySigstoreArgs {
    #[command(flatten)]
    pub common: CommonQuery,
    #[command(flatten)]
    pub trust: SigstoreTrust,
}

/// `provenance query key`.
#[derive(Debug, Args)]
pub struct QueryKeyArgs {
    #[command(flatten)]
    pub common: CommonQuery,
    #[command(flatten)]
    pub trust: KeyTrust,
}

/// `provenance query certificate`.
#[derive(Debug, Args)]
pub struct QueryCertificateArgs {
    #[command(flatten)]
    pub common: CommonQuery,
    #[command(flatten)]
    pub trust: CertificateTrust,
}
