//! `model-signing`: sign and verify machine-learning models.
//!
//! A thin shell over the `model_signing` library: parse (`args`), resolve (`config`), run, and map
//! every error to one line on stderr and exit code 1. Usage errors exit 2.

mod args;
mod config;
mod pkcs11_cmd;
mod progress;
mod run;
mod sigstore_sign;
mod sigstore_verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv = args::normalize(std::env::args_os().collect());
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    run::init_logging(cli.log_level);
    if let Some(prefix) = run::hashing_prefix(&cli.command) {
        progress::enable_mmap(prefix);
    }
    run::run(cli.command)
}
