//! Publishing on a schedule. A scheduled post has a durable job (`publish_post`, unique per
//! post) due at its `publish_at`; a worker in `cms serve` claims due jobs with a lease and
//! publishes. Publishing is idempotent — it only moves a post that is still scheduled and due —
//! so a retry, a restart or a second node can never publish twice.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::models::audit::Actor;
use crate::models::job::{self, JobStatus};
use crate::models::now;
use crate::models::post::{Post, PostStatus};
use crate::schema::{jobs, posts};

/// The job kind that publishes a scheduled post.
pub const PUBLISH_JOB: &str = "publish_post";

/// How long a worker holds a claimed job before another may take it over.
pub const LEASE: Duration = Duration::seconds(60);

fn job_key(post_id: i64) -> String {
    format!("publish:post:{post_id}")
}

/// Keeps a post's publish job in step with its status and time: a scheduled post has exactly
/// one queued job at its `publish_at`; any other post has none. Call it in the transaction that
/// saved the post.
pub fn sync_schedule(conn: &mut DbConn, post: &Post) -> Result<()> {
    let key = job_key(post.id);
    match (post.status, post.publish_at) {
        (PostStatus::Scheduled, Some(at)) => {
            if job::reschedule(conn, &key, at)? == 0 {
                // No queued job: drop a finished one under the same key, then queue afresh.
                diesel::delete(
                    jobs::table
                        .filter(jobs::unique_key.eq(&key))
                        .filter(jobs::status.ne(JobStatus::Running)),
                )
                .execute(conn)?;
                job::enqueue(
                    conn,
                    PUBLISH_JOB,
                    &serde_json::json!({ "post_id": post.id }),
                    at,
                    Some(&key),
                )?;
            }
        }
        _ => {
            job::cancel(conn, &key)?;
        }
    }
    Ok(())
}

/// What one pass of the scheduler did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub published: Vec<i64>,
    pub failed: usize,
    /// When the next scheduled post falls due (or a dead node's claim of one runs out), as
    /// the pass ended; asked only while notifications wake the scheduler.
    pub next_due: Option<NaiveDateTime>,
}

/// Runs every due publish job, each in its own transaction, as `owner` (a node-unique name).
/// Also queues jobs for scheduled posts that lack one (posts written by older versions or
/// directly to the database), so nothing due is ever stranded.
pub fn run_due(db: &Db, owner: &str) -> Result<Pass> {
    let mut pass = Pass::default();
    let scheduler = Actor::system("scheduler");
    let t = db.now();
    db.write_blocking(|conn| -> Result<()> {
        let orphans: Vec<Post> = posts::table
            .filter(posts::status.eq(PostStatus::Scheduled))
            .filter(posts::publish_at.le(t + Duration::minutes(1)))
            .select(Post::as_select())
            .load(conn)?;
        for p in orphans {
            if job::find_by_key(conn, &job_key(p.id))?
                .is_none_or(|j| j.status != JobStatus::Queued && j.status != JobStatus::Running)
            {
                sync_schedule(conn, &p)?;
            }
        }
        Ok(())
    })?;
    loop {
        let claimed = db.write_blocking(|conn| {
            Ok::<_, Error>(job::claim_at(conn, owner, &[PUBLISH_JOB], LEASE, db.now())?)
        })?;
        let Some(j) = claimed else { break };
        let post_id = serde_json::from_str::<serde_json::Value>(&j.payload)
            .ok()
            .and_then(|v| v["post_id"].as_i64());
        let outcome = match post_id {
            Some(id) => db.write_blocking(|conn| {
                let done = crate::service::posts::publish_if_due(conn, &scheduler, id, db.now())?;
                job::complete(conn, j.id, owner)?;
                Ok::<_, Error>(done)
            }),
            None => Err(Error::Internal(format!("job {} has no post_id", j.id))),
        };
        match outcome {
            Ok(Some(p)) => {
                tracing::info!(post = p.id, slug = %p.slug, "published a scheduled post");
                pass.published.push(p.id);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(job = j.id, error = %e, "publishing failed; will retry");
                pass.failed += 1;
                let backoff = Duration::seconds(5 * i64::from(j.attempts.clamp(1, 60)));
                db.write_blocking(|conn| {
                    Ok::<_, Error>(job::fail(conn, &j, owner, &e.to_string(), now() + backoff)?)
                })?;
            }
        }
    }
    if db.wake().listening() {
        // Only a scheduler woken by notifications sleeps until then; one that polls (SQLite)
        // does not ask.
        pass.next_due = db
            .conn()
            .and_then(|mut c| Ok(job::next_run_at(&mut c, &[PUBLISH_JOB])?))
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read when the next post is due");
                Some(db.now())
            });
    }
    Ok(pass)
}
