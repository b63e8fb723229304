//! Progress callbacks and Ctrl-C for the calls that hash (`hash_model`, `sign_model`,
//! `verify_model`).
//!
//! Two rules keep these calls from hanging:
//!
//! * no lock is held while Python runs. A callback that releases the GIL (`time.sleep`, a write to
//!   a pipe, `logging`, tqdm) lets another worker take the GIL; had the first worker held a lock
//!   that the second then waited for with the GIL, neither could go on;
//! * the calling thread does not sit in the library until it returns: the library runs on a thread
//!   of its own, and the caller takes the GIL every [`POLL`] to run Python's signal handlers, so
//!   Ctrl-C raises `KeyboardInterrupt` (Python runs handlers only on the main thread, and only
//!   while it executes bytecode). A handler that raises cancels the library's work, through
//!   [`Progress::cancelled`], and its exception is raised once the work has stopped.

use model_signing::hashing::Progress;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the calling thread runs Python's signal handlers while the library works: short
/// enough for Ctrl-C to feel immediate, long enough to cost nothing.
const POLL: Duration = Duration::from_millis(50);

/// Stack of the thread the library runs on: what a Python thread gets on Linux (Rust's default
/// of 2 MiB is less than the main thread the library used to run on).
const WORK_STACK: usize = 8 << 20;

/// Forwards the engine's progress to a Python callable `callback(bytes_hashed, bytes_total)`, and
/// carries the cancellation of one call (Ctrl-C, or the callback raising).
///
/// The engine reports from its worker threads. Calls are throttled to about one per percent (and
/// at least 1 MiB apart), plus one at the start and one at the end, and only one runs at a time:
/// a worker whose turn comes while another worker's call is still running skips that update
/// rather than wait, since the next one follows shortly. No lock is held while the callback runs,
/// so it may release the GIL (sleep, print to a pipe, log, draw a tqdm bar). Each call reads the
/// byte count afresh, so the callback sees a count that never goes back; the start (`0`) and the
/// end (the total) are always delivered. If the callback raises, hashing stops within a read
/// chunk, the callback is not called again, and its exception (even `KeyboardInterrupt`) is what
/// the call raises.
pub(crate) struct PyProgress {
    /// `None` when no callback was given: the object then only carries the cancellation.
    callback: Option<Py<PyAny>>,
    total: AtomicU64,
    done: AtomicU64,
    /// The byte count at the last update that won its step.
    reported: AtomicU64,
    /// A call into Python is under way: taken with `compare_exchange`, so never waited for while
    /// the GIL is held.
    calling: AtomicBool,
    /// Stop hashing: set by Ctrl-C ([`PyProgress::cancel`]) or by the callback raising.
    cancelled: AtomicBool,
    /// The callback's exception. Locked only to store or take it, never while Python runs.
    error: Mutex<Option<PyErr>>,
}

impl PyProgress {
    pub(crate) fn new(callback: Option<Py<PyAny>>) -> Arc<Self> {
        Arc::new(PyProgress {
            callback,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            calling: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            error: Mutex::new(None),
        })
    }

    /// Asks the library to stop hashing.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// The callback's exception, if it raised.
    pub(crate) fn take_error(&self) -> Option<PyErr> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    /// Calls the callback with the current count. `always`: the start and the end, which wait for
    /// a call under way to end (none is, in practice: the engine reports them before the first
    /// worker starts and after the last one is done) instead of skipping.
    fn call(&self, always: bool) {
        let Some(callback) = &self.callback else {
            return;
        };
        while self
            .calling
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            if !always || self.cancelled.load(Ordering::SeqCst) {
                return;
            }
            // Not holding the GIL: the call under way can take it and finish.
            std::thread::sleep(Duration::from_millis(1));
        }
        let _release = Release(&self.calling);
        if self.cancelled.load(Ordering::SeqCst) {
            return;
        }
        // Read after `calling` was taken: every earlier call read its count before releasing it,
        // so this one is at least as large.
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        Python::with_gil(|py| {
            if let Err(e) = callback.call1(py, (done, total)) {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
                self.cancel();
            }
        });
    }
}

/// Clears the "call under way" flag when the call ends, even if it unwinds.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Progress for PyProgress {
    fn begin(&self, _files: u64, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
        self.call(true);
    }

    fn advance(&self, bytes: u64) {
        if self.callback.is_none() {
            return;
        }
        let done = self
            .done
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        let step = (self.total.load(Ordering::Relaxed) / 100).max(1 << 20);
        let last = self.reported.load(Ordering::Relaxed);
        // One thread wins the step; the others skip the call rather than queue for the GIL.
        if done.saturating_sub(last) >= step
            && self
                .reported
                .compare_exchange(last, done, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.call(false);
        }
    }

    fn finish(&self) {
        self.call(true);
    }

    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Runs `work` (a library call) on a thread of its own, while this thread, which holds the GIL,
/// releases it and takes it back every [`POLL`] to run Python's signal handlers. If a handler
/// raises (`KeyboardInterrupt` on Ctrl-C), `progress` is cancelled, the work is waited for (it
/// stops within a read chunk once hashing is under way) and the handler's exception is returned.
/// A panic in `work` is resumed here (pyo3 turns it into `PanicException`).
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    progress: &PyProgress,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let caller = std::thread::current();
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("model-signing".into())
            .stack_size(WORK_STACK)
            .spawn_scoped(s, || {
                let out = work();
                finished.store(true, Ordering::Release);
                caller.unpark();
                out
            })
            .map_err(|e| PyOSError::new_err(format!("cannot start a thread: {e}")))?;
        let mut interrupted = None;
        loop {
            py.allow_threads(|| {
                // An unpark that came before this park makes it return at once.
                if !finished.load(Ordering::Acquire) {
                    std::thread::park_timeout(POLL);
                }
            });
            // `is_finished` too: a panicking `work` never sets `finished`.
            if finished.load(Ordering::Acquire) || handle.is_finished() {
                break;
            }
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    progress.cancel();
                    interrupted = Some(e);
                }
            }
        }
        // Without the GIL: the thread may still be dropping what `work` captured.
        let out = match py.allow_threads(|| handle.join()) {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match interrupted {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}
