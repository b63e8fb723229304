//! SIGINT, SIGTERM and SIGHUP end the command as before (terminated by the signal, so a shell
//! reports 130, 143 or 129), except that one arriving while a signature is being renamed into
//! place waits for the rename to finish: then no temporary file is left beside the signature,
//! where it would be an extra file of the model (see `model_signing::atomic`).
//!
//! The handler only records the signal (signal-hook's self-pipe); a thread of its own then takes
//! the library's rename gate and re-raises the signal with its default action. Hashing needs no
//! cleanup, and the signature is written unnamed until its rename, so ending at once is right
//! everywhere else.

use std::sync::atomic::{AtomicBool, Ordering};

/// [`install`] ran: this process is the `model-signing` executable, not an embedding one.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Called when a command is about to report success: from now on a signal waiting for the
/// rename gate waits for good, and the process ends with the command's own exit code. Without
/// it, a signal that arrived during the rename could end the process after "Signing succeeded"
/// was printed (the review saw exit 143 after it). The gate is never released: the process is
/// about to exit. Only in the executable; an embedding process keeps the gate.
pub fn no_signal_after_success() {
    if INSTALLED.load(Ordering::SeqCst) {
        std::mem::forget(model_signing::atomic::pause_renames());
    }
}

/// Installs the handling; does nothing where it cannot be installed (the signals then keep their
/// default action, and only a signal during the rename can leave a temporary file).
#[cfg(unix)]
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    INSTALLED.store(true, Ordering::SeqCst);
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _paused = model_signing::atomic::pause_renames();
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                // Not reached unless the default action could not be emulated.
                std::process::exit(128 + sig);
            }
        });
}

/// No signals to handle elsewhere.
#[cfg(not(unix))]
pub fn install() {}
