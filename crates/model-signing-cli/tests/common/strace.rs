//! Our binary under `strace`, with one system call delayed, to stop it at a chosen phase (hashing a
//! file, syncing the new signature, renaming it) and do something to it there: send a signal,
//! replace a file, run a second command.
//!
//! The delay (`-e inject=SYSCALL:delay_enter=...`) holds the call before the kernel runs it, and
//! strace prints the call's entry (`1234 fsync(6`) when the delay begins, so [`Traced::wait_for`]
//! knows when the binary is there.

use super::{bin, env_flag};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `strace`, from `MS_STRACE` or `PATH`. `None` (with a note) when missing; a panic instead when
/// `MS_REQUIRE_PEERS=1` (`scripts/test` installs it).
pub fn strace() -> Option<PathBuf> {
    let found = std::env::var_os("MS_STRACE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            Command::new("strace")
                .arg("-V")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| PathBuf::from("strace"))
        });
    if found.is_none() {
        assert!(
            !env_flag("MS_REQUIRE_PEERS"),
            "strace is missing (MS_STRACE unset and none on PATH) and MS_REQUIRE_PEERS=1"
        );
        eprintln!("NOTE: strace is not installed; skipping this test (apt install strace)");
    }
    found
}

/// A run of our binary under strace.
pub struct Traced {
    child: Child,
    log: PathBuf,
}

/// What a [`Traced`] run ended with.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// strace's log.
    pub log: String,
}

impl Traced {
    /// Starts our binary with `args` under `strace`, logging `trace` (an strace syscall set such
    /// as `fsync` or `/^rename`) to `dir/strace.log` and delaying the `nth` (1-based) call in
    /// `trace` by `delay`. `extra` strace options come first (`-P path`, say).
    pub fn start(
        strace: &Path,
        dir: &Path,
        extra: &[&str],
        trace: &str,
        nth: u32,
        delay: Duration,
        args: Vec<OsString>,
    ) -> Traced {
        let log = dir.join(format!("strace-{}.log", unique()));
        let child = Command::new(strace)
            .args(["-f", "-qq", "-e", "signal=none", "-o"])
            .arg(&log)
            .args(extra)
            .arg("-e")
            .arg(format!("trace={trace}"))
            .arg("-e")
            .arg(format!(
                "inject={trace}:delay_enter={}:when={nth}",
                delay.as_micros()
            ))
            .arg("--")
            .arg(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start strace");
        Traced { child, log }
    }

    /// Waits until strace's log has a line containing `needle` and returns it. Panics after
    /// `timeout` (with the log).
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(l) = text.lines().find(|l| l.contains(needle)) {
                return l.to_string();
            }
            assert!(
                start.elapsed() < timeout,
                "no {needle:?} in strace's log after {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`...) to our binary, whose call strace logged on `line`
    /// (from [`Traced::wait_for`]).
    pub fn signal(&self, line: &str, signal: &str) {
        let pid = process_of(line);
        let ok = Command::new("kill")
            .args(["-s", signal, &pid.to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -s {signal} {pid}");
    }

    /// Waits at most `timeout` for the run to end; then kills it and panics (a hang).
    pub fn finish_within(mut self, timeout: Duration) -> Ended {
        let start = Instant::now();
        while self.child.try_wait().expect("poll strace").is_none() {
            if start.elapsed() > timeout {
                let _ = Command::new("pkill")
                    .args(["-KILL", "-P", &self.child.id().to_string()])
                    .status();
                let _ = self.child.kill();
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("the run hung: still running after {timeout:?}\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    /// Waits for the run to end.
    pub fn finish(self) -> Ended {
        let out = self.child.wait_with_output().expect("wait for strace");
        Ended {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            log: std::fs::read_to_string(&self.log).unwrap_or_default(),
        }
    }
}

/// The process (thread group) of the thread that made the call logged on `line` (strace's lines
/// start with the thread id).
fn process_of(line: &str) -> u32 {
    let tid: u32 = line
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no thread id on strace's line {line:?}"));
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(tid)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
