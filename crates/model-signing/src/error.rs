//! The library's error type.
//!
//! Every message is a single line meant for the person running the tool: it names the file, field or
//! certificate at fault. A verification mismatch carries the full per-file report instead of a string so
//! callers can render it (text or JSON).

use crate::keys::KeyError;
use crate::verify::MismatchReport;
use crate::x509::ChainError;
use std::path::PathBuf;
use thiserror::Error;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while signing or verifying a model.
#[derive(Debug, Error)]
pub enum Error {
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The model tree cannot be signed or verified as it is (symlink, special file, bad name...).
    #[error("{0}")]
    Model(String),
    /// The command-line or API configuration is inconsistent.
    #[error("{0}")]
    Config(String),
    /// The bundle (`model.sig`) is malformed or of an unsupported shape.
    #[error("invalid signature bundle: {0}")]
    Bundle(String),
    /// The signed statement or its predicate is malformed.
    #[error("invalid signed statement: {0}")]
    Statement(String),
    /// Key loading, signing or signature verification failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Certificate parsing or chain validation failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The signature is cryptographically valid for someone else, or not valid at all.
    #[error("{0}")]
    Signature(String),
    /// The model on disk differs from the signed manifest.
    #[error("{0}")]
    Mismatch(Box<MismatchReport>),
    /// A feature that is recognised but not implemented yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
