//! Durable jobs: a row first, then a worker claims it with a lease. A crash leaves the lease to
//! run out and another worker resumes; two nodes never run the same job at once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, text_enum};
use crate::db::DbConn;
use crate::schema::jobs;

text_enum! {
    /// Where a job is.
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// A stored job.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
    pub status: JobStatus,
    pub run_at: NaiveDateTime,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// What a long job has done so far (JSON), for live progress.
    pub progress: String,
}

/// Queues a job to run at `run_at`. With a `unique_key`, a second enqueue of the same key is a
/// no-op (returns `false`): publishing twice schedules one fan-out.
pub fn enqueue(
    conn: &mut DbConn,
    kind: &str,
    payload: &serde_json::Value,
    run_at: NaiveDateTime,
    unique_key: Option<&str>,
) -> QueryResult<bool> {
    let t = now();
    let row = (
        jobs::kind.eq(kind),
        jobs::payload.eq(payload.to_string()),
        jobs::unique_key.eq(unique_key),
        jobs::status.eq(JobStatus::Queued),
        jobs::run_at.eq(run_at),
        jobs::created_at.eq(t),
        jobs::updated_at.eq(t),
    );
    let n = crate::per_backend!(conn, |c| diesel::insert_into(jobs::table)
        .values(row.clone())
        .on_conflict(jobs::unique_key)
        .do_nothing()
        .execute(c))?;
    Ok(n > 0)
}

/// Moves a queued job with this key to a new time (a rescheduled post).
pub fn reschedule(
    conn: &mut DbConn,
    unique_key: &str,
    run_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::unique_key.eq(unique_key))
            .filter(jobs::status.eq(JobStatus::Queued)),
    )
    .set((jobs::run_at.eq(run_at), jobs::updated_at.eq(now())))
    .execute(conn)
}

/// Removes a queued job with this key (an unscheduled post).
pub fn cancel(conn: &mut DbConn, unique_key: &str) -> QueryResult<usize> {
    diesel::delete(
        jobs::table
            .filter(jobs::unique_key.eq(unique_key))
            .filter(jobs::status.eq(JobStatus::Queued)),
    )
    .execute(conn)
}

/// Claims the oldest due job of one of `kinds` for `owner` until `lease` from now, counting an
/// attempt. Due: queued and `run_at` passed, or running with an expired lease. Run it in a
/// write transaction.
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    kinds: &[&str],
    lease: Duration,
) -> QueryResult<Option<Job>> {
    claim_at(conn, owner, kinds, lease, now())
}

/// [`claim`] with the time it is (`Db::now`, which tests move).
pub fn claim_at(
    conn: &mut DbConn,
    owner: &str,
    kinds: &[&str],
    lease: Duration,
    t: chrono::NaiveDateTime,
) -> QueryResult<Option<Job>> {
    let due = jobs::status
        .eq(JobStatus::Queued)
        .and(jobs::run_at.le(t))
        .or(jobs::status
            .eq(JobStatus::Running)
            .and(jobs::lease_until.lt(t)));
    let id: Option<i64> = match conn {
        DbConn::Pg(c) => jobs::table
            .filter(due)
            .filter(jobs::kind.eq_any(kinds))
            .order(jobs::run_at.asc())
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(c)
            .optional()?,
        DbConn::Sqlite(c) => jobs::table
            .filter(due)
            .filter(jobs::kind.eq_any(kinds))
            .order(jobs::run_at.asc())
            .select(jobs::id)
            .first(c)
            .optional()?,
    };
    let Some(id) = id else { return Ok(None) };
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(JobStatus::Running),
            jobs::lease_owner.eq(owner),
            jobs::lease_until.eq(t + lease),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::updated_at.eq(t),
        ))
        .returning(jobs::all_columns)
        .get_result::<Job>(conn)
        .optional()
}

/// When the next job of `kinds` falls due: a queued one's time, or when a running one's lease
/// runs out (its node may have died); `None`: none. A worker woken by notifications sleeps
/// until then.
pub fn next_run_at(conn: &mut DbConn, kinds: &[&str]) -> QueryResult<Option<NaiveDateTime>> {
    let queued: Option<NaiveDateTime> = jobs::table
        .filter(jobs::status.eq(JobStatus::Queued))
        .filter(jobs::kind.eq_any(kinds))
        .select(diesel::dsl::min(jobs::run_at))
        .first(conn)?;
    let leased: Option<NaiveDateTime> = jobs::table
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::kind.eq_any(kinds))
        .select(diesel::dsl::min(jobs::lease_until))
        .first(conn)?;
    Ok(queued.into_iter().chain(leased).min())
}

/// Marks a job done, if `owner` still holds it.
pub fn complete(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<bool> {
    let t = now();
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(owner)))
        .set((
            jobs::status.eq(JobStatus::Done),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::finished_at.eq(t),
            jobs::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Hands a job `owner` holds back unfinished (its process is stopping): due again at once for
/// any node, its progress kept for the next run to go on from, the claim not counted as an
/// attempt.
pub fn release(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<bool> {
    let t = now();
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(owner)))
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::run_at.eq(t),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Records a failure: retried at `retry_at` while attempts remain, else failed for good.
pub fn fail(
    conn: &mut DbConn,
    job: &Job,
    owner: &str,
    error: &str,
    retry_at: NaiveDateTime,
) -> QueryResult<bool> {
    let t = now();
    let give_up = job.attempts >= job.max_attempts;
    diesel::update(jobs::table.find(job.id).filter(jobs::lease_owner.eq(owner)))
        .set((
            jobs::status.eq(if give_up {
                JobStatus::Failed
            } else {
                JobStatus::Queued
            }),
            jobs::run_at.eq(retry_at),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(error),
            jobs::finished_at.eq(give_up.then_some(t)),
            jobs::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Extends a running job's lease (long jobs call this as they progress).
pub fn extend_lease(conn: &mut DbConn, id: i64, owner: &str, lease: Duration) -> QueryResult<bool> {
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(owner)))
        .set(jobs::lease_until.eq(now() + lease))
        .execute(conn)
        .map(|n| n > 0)
}

/// A job by its unique key.
pub fn find_by_key(conn: &mut DbConn, unique_key: &str) -> QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::unique_key.eq(unique_key))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Records a running job's progress (JSON), keeping its lease alive.
pub fn set_progress(
    conn: &mut DbConn,
    id: i64,
    owner: &str,
    progress: &serde_json::Value,
    lease: Duration,
) -> QueryResult<bool> {
    let t = now();
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(owner)))
        .set((
            jobs::progress.eq(progress.to_string()),
            jobs::lease_until.eq(t + lease),
            jobs::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Replaces a job's payload, if `owner` still holds it (e.g. a secret removed at the end).
pub fn set_payload(conn: &mut DbConn, id: i64, owner: &str, payload: &str) -> QueryResult<bool> {
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(owner)))
        .set((jobs::payload.eq(payload), jobs::updated_at.eq(now())))
        .execute(conn)
        .map(|n| n > 0)
}

/// A job by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// The newest jobs of a kind.
pub fn recent(conn: &mut DbConn, kind: &str, limit: i64) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::kind.eq(kind))
        .order(jobs::id.desc())
        .limit(limit)
        .select(Job::as_select())
        .load(conn)
}

/// Queues a job and returns its id (no unique key).
pub fn enqueue_returning(
    conn: &mut DbConn,
    kind: &str,
    payload: &serde_json::Value,
) -> QueryResult<i64> {
    let t = now();
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
            jobs::payload.eq(payload.to_string()),
            jobs::status.eq(JobStatus::Queued),
            jobs::run_at.eq(t),
            jobs::max_attempts.eq(1),
            jobs::created_at.eq(t),
            jobs::updated_at.eq(t),
        ))
        .returning(jobs::id)
        .get_result(conn)
}
