//! `model-signing`: sign and verify machine-learning models.
//!
//! A thin shell over the `model_signing` library: parse (`args`), resolve (`config`), run, and map
//! every error to one line on stderr and exit code 1. Usage errors exit 2.
//!
//! The entry point is a library function ([`run_cli`]) so that the Python package can run exactly
//! this command (its `model-signing` console script and `python -m model_signing_rs`) instead of
//! carrying a second argument parser.

mod args;
mod args_attest;
mod attest_cmd;
mod config;
mod out;
mod pkcs11_cmd;
mod progress;
mod run;
mod signals;
mod sigstore_sign;
mod sigstore_verify;

use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Once;

/// Runs the command line `argv` (program name first) and returns its exit code: 0 on success, 1 on
/// a failed command, 2 on a usage error.
///
/// Sets up logging (a global subscriber: only the first call in a process installs one) and, for
/// commands that hash, the SIGBUS guard that memory-mapped hashing needs.
pub fn run_cli(argv: Vec<OsString>) -> ExitCode {
    let argv = args::normalize(argv);
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    // The subscriber is process-global and installing a second one panics; an embedding process
    // (Python) may run several commands, which then share the first command's log level.
    static LOGGING: Once = Once::new();
    LOGGING.call_once(|| run::init_logging(cli.log_level));
    if let Some(prefix) = run::hashing_prefix(&cli.command) {
        progress::enable_mmap(prefix);
    }
    run::run(cli.command)
}

/// Makes SIGINT, SIGTERM and SIGHUP wait for a signature's rename to finish before they end the
/// process, so that no temporary file is left beside it. For the `model-signing` executable only:
/// a process embedding [`run_cli`] (Python) keeps its own signal handling.
pub fn install_signal_handling() {
    signals::install();
}

/// [`run_cli`] with the exit code as a number, for callers that hand it on (the Python package
/// returns it to `sys.exit`). `ExitCode` has no stable accessor, so it is matched against every
/// `u8`; the CLI only ever returns 0, 1 or 2.
pub fn run_cli_code(argv: Vec<OsString>) -> u8 {
    let code = run_cli(argv);
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(1)
}
