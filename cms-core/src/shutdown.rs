//! A node asked to stop (SIGTERM from systemd or a container runtime, Ctrl-C) finishes what it
//! holds instead of dropping it: requests in flight are answered, each mail connection sends
//! the message it has started and records it, and the messages, fan-outs and imports it had
//! claimed but not begun are handed back at once (not when their leases run out) for another
//! node, or this one when it starts again. Set once per process by `cms serve`.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static FLAG: AtomicBool = AtomicBool::new(false);
static STOP: Notify = Notify::const_new();

/// The message of the error a job's run ends with when it stopped for this (`Error::Unavailable`):
/// handed back, not failed.
pub const STOPPING: &str = "this node is stopping";

/// Whether `outcome` is a run that stopped because this process is stopping.
pub fn stopped<T>(outcome: &crate::Result<T>) -> bool {
    matches!(outcome, Err(crate::Error::Unavailable(m)) if m == STOPPING)
}

/// Asks every worker of this process to finish what it is doing and stop.
pub fn begin() {
    FLAG.store(true, Ordering::SeqCst);
    STOP.notify_waiters();
}

/// Whether this process is stopping: workers take no new work.
pub fn is_stopping() -> bool {
    FLAG.load(Ordering::SeqCst)
}

/// Resolves when this process starts stopping (at once if it has).
pub async fn requested() {
    loop {
        // Registered before the check: a `begin` in between still wakes it.
        let woken = STOP.notified();
        if is_stopping() {
            return;
        }
        woken.await;
    }
}
