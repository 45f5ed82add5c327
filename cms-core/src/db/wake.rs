//! Waking the workers when there is work, instead of every worker of every node asking the
//! database twice a second.
//!
//! On PostgreSQL, triggers (migration 16) send `NOTIFY keepsake, '<table>'` when work is
//! queued: a job, an email, a change event, a webhook delivery queued again, the content
//! version bumped. Each `cms serve` keeps one connection listening ([`Db::listen`]); what it
//! hears wakes the workers that take that kind of work, on every node, as the writing
//! transaction commits. NOTIFY is transactional, so a worker is never woken for work that was
//! rolled back or is not yet visible.
//!
//! The workers still look on their own, less often ([`Wake::idle`]): retries, leases and
//! scheduled times fall due with time, not with a write. While the listening connection is
//! down (the database restarting) they look as often as they did before listening existed. On
//! SQLite there is one node and no listening: the workers look as often as before.
//!
//! [`Db::listen`]: super::Db::listen

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The channel the triggers notify.
pub const CHANNEL: &str = "keepsake";

/// How often the listening connection reads what the server has sent: a local read of the
/// socket, no statement and no round trip (diesel does not hand out the socket to wait on).
/// Work queued is taken up within this time; each look wakes a thread (every 50 ms, an idle
/// node spent about 2.5 ms of CPU a second on them).
pub const LISTEN_POLL: Duration = Duration::from_millis(200);

/// How long the listening connection may hear nothing before it checks itself with a probe.
pub const PROBE_EVERY: Duration = Duration::from_secs(30);

/// How long it waits to hear its probe back before it counts itself lost.
pub const PROBE_WAIT: Duration = Duration::from_secs(10);

/// How long a lost listening connection waits before connecting again.
pub const RECONNECT: Duration = Duration::from_secs(2);

/// The longest wait between tries of a connection that never hears its own probe (each such
/// try waits twice as long as the one before).
pub const RECONNECT_MAX: Duration = Duration::from_secs(60);

/// What the listener's own probe says (heard by every node; wakes nobody).
pub const PROBE: &str = "probe";

/// What freeing a stopped process's leases says ([`crate::leases::free`]): everyone looks.
pub const LEASES: &str = "leases";

/// Tells every node's workers, when the current transaction commits, that work of `what` (a
/// table's name, as the triggers say) is due now, for writes no trigger sees (leases freed,
/// work handed back). Nothing on SQLite, whose one node polls.
pub fn announce(conn: &mut super::DbConn, what: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if conn.backend() == super::Backend::Postgres {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(CHANNEL)
            .bind::<diesel::sql_types::Text, _>(what)
            .execute(conn)?;
    }
    Ok(())
}

/// The kinds of work a notification can wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Scheduled posts (jobs).
    Scheduler,
    /// Update emails' and digests' fan-outs (jobs).
    FanOut,
    /// Server-side imports (jobs).
    Imports,
    /// The email outbox.
    Mail,
    /// Webhooks: the change stream and deliveries.
    Webhooks,
}

/// Wake-ups of this process's workers (one per [`Work`]) and what the listener heard.
#[derive(Debug, Default)]
pub struct Wake {
    scheduler: Notify,
    fan_out: Notify,
    imports: Notify,
    mail: Notify,
    webhooks: Notify,
    listening: AtomicBool,
    heard: AtomicU64,
}

impl Wake {
    fn notify(&self, work: Work) -> &Notify {
        match work {
            Work::Scheduler => &self.scheduler,
            Work::FanOut => &self.fan_out,
            Work::Imports => &self.imports,
            Work::Mail => &self.mail,
            Work::Webhooks => &self.webhooks,
        }
    }

    /// Wakes the worker of `work`, or, when it is busy, makes its next wait end at once: a
    /// notification heard during a pass is never lost.
    pub fn wake(&self, work: Work) {
        self.notify(work).notify_one();
    }

    /// Wakes every worker (the listener (re)connected: anything may have been missed).
    pub fn wake_all(&self) {
        for w in [
            Work::Scheduler,
            Work::FanOut,
            Work::Imports,
            Work::Mail,
            Work::Webhooks,
        ] {
            self.wake(w);
        }
    }

    /// The workers a notification from `table` concerns; `None`: the content version.
    pub fn of_table(table: &str) -> &'static [Work] {
        match table {
            "jobs" => &[Work::Scheduler, Work::FanOut, Work::Imports],
            "email_outbox" => &[Work::Mail],
            "change_events" | "webhook_deliveries" | "webhooks" => &[Work::Webhooks],
            "site_state" | PROBE => &[],
            // A stopped process's claims freed: its jobs, emails and deliveries are due.
            LEASES => &[
                Work::Scheduler,
                Work::FanOut,
                Work::Imports,
                Work::Mail,
                Work::Webhooks,
            ],
            _ => &[
                Work::Scheduler,
                Work::FanOut,
                Work::Imports,
                Work::Mail,
                Work::Webhooks,
            ],
        }
    }

    /// Wakes the workers `table`'s notification concerns and counts it (a probe is not
    /// counted).
    pub(crate) fn heard(&self, table: &str) {
        if table != PROBE {
            self.heard.fetch_add(1, Ordering::Relaxed);
        }
        for w in Self::of_table(table) {
            self.wake(*w);
        }
    }

    pub(crate) fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::SeqCst);
    }

    /// Whether this process hears the database's notifications now.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    /// Notifications heard since the process started (`/metrics`).
    pub fn heard_total(&self) -> u64 {
        self.heard.load(Ordering::Relaxed)
    }

    /// How long a worker of `work` that found nothing to do waits before it looks again on its
    /// own: `polling` (what it waited before listening existed) unless notifications wake it,
    /// then `idle` (for what falls due with time: retries, leases).
    pub fn idle(&self, polling: Duration, idle: Duration) -> Duration {
        if self.listening() { idle } else { polling }
    }

    /// Waits until `work` is woken, `timeout` has passed or the process starts stopping.
    pub async fn wait(&self, work: Work, timeout: Duration) {
        tokio::select! {
            _ = self.notify(work).notified() => {}
            _ = tokio::time::sleep(timeout) => {}
            _ = crate::shutdown::requested() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_wakes_the_workers_of_its_work() {
        assert_eq!(
            Wake::of_table("jobs"),
            &[Work::Scheduler, Work::FanOut, Work::Imports]
        );
        assert_eq!(Wake::of_table("email_outbox"), &[Work::Mail]);
        assert_eq!(Wake::of_table("change_events"), &[Work::Webhooks]);
        assert_eq!(Wake::of_table("webhook_deliveries"), &[Work::Webhooks]);
        assert!(Wake::of_table("site_state").is_empty());
        assert_eq!(Wake::of_table(LEASES).len(), 5);
        // Something this release does not know (a newer node's trigger): everyone looks.
        assert_eq!(Wake::of_table("something_new").len(), 5);
        // A listener's probe wakes nobody and is not counted as work heard.
        let w = Wake::default();
        w.heard(PROBE);
        assert_eq!(w.heard_total(), 0);
        assert!(Wake::of_table(PROBE).is_empty());
    }

    #[tokio::test]
    async fn a_wake_during_a_pass_ends_the_next_wait_at_once() {
        let w = Wake::default();
        // Heard while the mail worker was busy (not waiting).
        w.heard("email_outbox");
        tokio::time::timeout(
            Duration::from_secs(5),
            w.wait(Work::Mail, Duration::from_secs(60)),
        )
        .await
        .expect("the stored wake-up ends the wait");
        assert_eq!(w.heard_total(), 1);
        // Used up: the next wait lasts its timeout.
        let waited = tokio::time::timeout(
            Duration::from_millis(50),
            w.wait(Work::Mail, Duration::from_secs(60)),
        )
        .await;
        assert!(waited.is_err());
        // Other workers were not woken.
        assert!(
            tokio::time::timeout(
                Duration::from_millis(50),
                w.wait(Work::Webhooks, Duration::from_secs(60))
            )
            .await
            .is_err()
        );
    }

    #[test]
    fn workers_look_as_often_as_before_unless_listening() {
        let w = Wake::default();
        let (polling, idle) = (Duration::from_millis(500), Duration::from_secs(5));
        assert_eq!(w.idle(polling, idle), polling);
        w.set_listening(true);
        assert_eq!(w.idle(polling, idle), idle);
    }
}
