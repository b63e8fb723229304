//! The progress bar on stderr (bytes, files, throughput, ETA) for sign, verify and digest.
//!
//! Shown only when stderr is a terminal and the log level is INFO or more verbose, so scripts and CI
//! logs stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model_signing::hashing::{Engine, Progress};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Called by logging setup: levels above INFO silence the bar.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

static MMAP: AtomicBool = AtomicBool::new(false);

/// Installs the SIGBUS guard so that hashing may memory-map files: a model file truncated while
/// mapped then ends the run with one line, in the command's usual `PREFIX: message` form, and exit
/// code 1 instead of a silent crash. Without the guard (it failed to install) files are read
/// instead, which is slower for BLAKE3 only.
///
/// The message is built (and leaked, once per process) before the signal can arrive: the handler
/// may not allocate.
pub fn enable_mmap(prefix: &str) {
    let message: &'static str = Box::leak(
        format!(
            "{prefix}: a model file was truncated while it was being hashed; sign or verify a model that \
             is not being modified\n"
        )
        .into_boxed_str(),
    );
    MMAP.store(
        model_signing_mmap::exit_on_sigbus(message).is_ok(),
        Ordering::Relaxed,
    );
}

/// A hashing engine with `max_workers` threads and, when appropriate, a progress bar.
pub fn engine(max_workers: Option<usize>) -> Engine {
    let show = !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal();
    Engine {
        max_workers,
        progress: show.then(|| Arc::new(Bar::new()) as Arc<dyn Progress>),
        mmap: MMAP.load(Ordering::Relaxed),
    }
}

struct Bar {
    bar: ProgressBar,
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(
            "{spinner} hashing [{bar:30}] {bytes}/{total_bytes} {msg} {binary_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Bar {
            bar,
            done: Default::default(),
            total: Default::default(),
        }
    }
}

impl Progress for Bar {
    fn begin(&self, files: u64, bytes: u64) {
        self.bar.set_length(bytes);
        self.bar.set_message(format!("0/{files} items"));
        self.bar.set_position(0);
        self.done.store(0, Ordering::Relaxed);
        self.total.store(files, Ordering::Relaxed);
    }
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn item_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed);
        // Redrawing the message for each of 100k tiny files would cost more than the hashing.
        if done == total || done.is_multiple_of(64) {
            self.bar.set_message(format!("{done}/{total} items"));
        }
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
