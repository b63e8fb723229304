//! `model-signing`: the command-line entry point; everything is in the library ([`model_signing_cli::run_cli`]).

fn main() -> std::process::ExitCode {
    model_signing_cli::install_signal_handling();
    model_signing_cli::run_cli(std::env::args_os().collect())
}
