//! Writing the command's result to stdout and its error to stderr without ever panicking.
//!
//! `println!` and `eprintln!` panic when the write fails, so `model-signing sign ... > /dev/full`
//! or `| head -c10` ended in a Rust panic and exit 101 even though the signature had been written.
//! Here each report is written whole, in one `write_all`, and flushed; a failure on stdout is
//! reported on stderr (when that still works) and the command exits 1, so a script reading the
//! output never takes a truncated report for a complete one. Rust ignores SIGPIPE, so a closed
//! pipe is such a failure too, rather than a silent death.

use std::io::Write;
use std::process::ExitCode;

/// Writes `text` and a newline to stdout and flushes. `Err` when any of it failed.
pub fn stdout_line(text: &str) -> std::io::Result<()> {
    let mut buf = String::with_capacity(text.len() + 1);
    buf.push_str(text);
    if !buf.ends_with('\n') {
        buf.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(buf.as_bytes())?;
    out.flush()
}

/// Writes `text` and a newline to stderr. A failure is dropped: stderr is where failures go.
pub fn stderr_line(text: &str) {
    let mut buf = String::with_capacity(text.len() + 1);
    buf.push_str(text);
    buf.push('\n');
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(buf.as_bytes());
    let _ = err.flush();
}

/// Prints the result `text` of a command that succeeded: exit 0, or exit 1 with a line on stderr
/// saying what was done and that its report could not be written.
pub fn success(text: &str, done: &str) -> ExitCode {
    crate::signals::no_signal_after_success();
    match stdout_line(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            stderr_line(&format!(
                "error: {done}, but the result could not be written to standard output: {e}"
            ));
            ExitCode::from(1)
        }
    }
}

/// Prints the JSON report of a command that failed, if any; a failed write changes nothing (the
/// command fails either way and its error line follows on stderr).
pub fn failure_report(text: &str) {
    let _ = stdout_line(text);
}

/// stderr for log lines, dropping write errors: tracing-subscriber reports a failed write with
/// `eprintln!`, which panics when stderr is what failed (exit 101 with stderr on `/dev/full`).
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// A JSON report as text: pretty-printed, with the characters that would act on a terminal or
/// hide on it (bidirectional controls, line separators, invisible characters, C1 controls)
/// written as `\uXXXX` escapes, which JSON reads back as the same characters.
pub fn json(v: &serde_json::Value) -> String {
    model_signing::error::json_inert(&serde_json::to_string_pretty(v).unwrap_or_default())
}
