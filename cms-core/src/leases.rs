//! Leases of dead processes. Workers name their leases `HOST:PID:…` (the outbox's messages,
//! the jobs, webhook deliveries); when a process on this machine dies (kill -9, a crash, power loss), what it held
//! would otherwise wait for its lease to run out. A starting node frees at once every lease
//! held by a process of its own host that no longer runs, and looks again every few seconds
//! (another node of the same machine may die while it runs); leases of other hosts still wait
//! for their time (they may be alive).

use diesel::prelude::*;

use crate::db::DbConn;
use crate::models::job::JobStatus;
use crate::models::now;
use crate::models::outbox::OutboxStatus;
use crate::schema::{email_outbox, jobs, webhook_deliveries};

/// This machine's name as lease owners carry it (gethostname(2)), with the process-id namespace
/// the process runs in when it can be read (containers that share a host name but not their
/// processes must not judge each other's). When no name can be had, a name no other process
/// carries: this process then frees nobody's leases early (another node's live work must
/// never look dead), and its own wait for their time.
pub fn host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .map(|h| h.trim().replace(':', "-"))
            .filter(|h| !h.is_empty());
        let Some(name) = name else {
            return format!("unnamed-{}", crate::tokens::request_id());
        };
        // "pid:[4026531836]": the namespace's inode.
        let namespace = std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .map(|l| {
                l.to_string_lossy()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        match namespace {
            Some(ns) => format!("{name}~{ns}"),
            None => name,
        }
    })
    .clone()
}

/// Whether process `pid` of this namespace runs: a null signal (kill(2) with 0) finds it even
/// when it belongs to another user or `/proc` hides it (`ProtectProc=invisible`).
fn runs(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// True when `owner` (`HOST:PID:…`) names a process of `host` that is gone.
pub(crate) fn is_dead(owner: &str, host: &str) -> bool {
    let mut parts = owner.split(':');
    let (Some(h), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    h == host && pid != std::process::id() && !runs(pid)
}

/// The owners of live leases (on outbox messages being sent, running jobs and webhook
/// deliveries) that are processes of `host` no longer running. A read: every node asks this
/// every few seconds, and writes only when the answer is not empty.
pub fn dead_owners(conn: &mut DbConn, host: &str) -> QueryResult<Vec<String>> {
    let t = now();
    // Only rows being worked on carry a live lease (the status indexes keep this cheap on a
    // large outbox).
    let mut owners: Vec<Option<String>> = email_outbox::table
        .filter(email_outbox::status.eq(OutboxStatus::Sending))
        .filter(email_outbox::lease_until.gt(t))
        .select(email_outbox::lease_owner)
        .distinct()
        .load(conn)?;
    owners.extend(
        jobs::table
            .filter(jobs::status.eq(JobStatus::Running))
            .filter(jobs::lease_until.gt(t))
            .select(jobs::lease_owner)
            .distinct()
            .load::<Option<String>>(conn)?,
    );
    owners.extend(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq("queued"))
            .filter(webhook_deliveries::lease_until.gt(t))
            .select(webhook_deliveries::lease_owner)
            .distinct()
            .load::<Option<String>>(conn)?,
    );
    let mut dead: Vec<String> = owners
        .into_iter()
        .flatten()
        .filter(|o| is_dead(o, host))
        .collect();
    dead.sort();
    dead.dedup();
    Ok(dead)
}

/// Frees what `owners` (dead processes, from [`dead_owners`]) held: it is due again now.
/// Returns how many rows were freed.
pub fn free(conn: &mut DbConn, owners: &[String]) -> QueryResult<usize> {
    let t = now();
    let mut freed = 0;
    for owner in owners {
        freed += diesel::update(
            email_outbox::table
                .filter(email_outbox::status.eq(OutboxStatus::Sending))
                .filter(email_outbox::lease_owner.eq(owner)),
        )
        .set(email_outbox::lease_until.eq(t))
        .execute(conn)?;
        freed += diesel::update(
            jobs::table
                .filter(jobs::status.eq(JobStatus::Running))
                .filter(jobs::lease_owner.eq(owner)),
        )
        .set(jobs::lease_until.eq(t))
        .execute(conn)?;
        freed += diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::status.eq("queued"))
                .filter(webhook_deliveries::lease_owner.eq(owner)),
        )
        .set(webhook_deliveries::lease_until.eq(t))
        .execute(conn)?;
    }
    if freed > 0 {
        // Every node's workers look at once (`db::wake`), not when they next would.
        crate::db::wake::announce(conn, crate::db::wake::LEASES)?;
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_processes_of_this_host() {
        let me = format!("box:{}:abc", std::process::id());
        assert!(!is_dead(&me, "box"), "this process is alive");
        assert!(is_dead("box:999999999:abc", "box"));
        assert!(
            !is_dead("other:999999999:abc", "box"),
            "another host may be alive"
        );
        assert!(!is_dead("dead-node", "box"));
        assert!(!is_dead("box:1:abc", "box"), "init runs, whoever owns it");
    }
}
