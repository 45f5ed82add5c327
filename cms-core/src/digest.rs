//! Update digests: subscribers who chose a daily or weekly digest for a topic get one email
//! per period, composed from what the archive did in it (the change stream,
//! `models::change`), grouped — "1,158 new photos in S02E01 – Out", never 1,158 lines.
//!
//! A period of a cadence is recorded once (`models::digest`, unique per cadence and local
//! date) at the sending moment — [`Schedule::hour`] in the site's time zone, every day or on
//! [`Schedule::day`] — and covers the events after the previous period's last one up to the
//! newest at that moment: nothing is told twice or lost, whatever the clocks, restarts or the
//! number of nodes, and a site that was down at the sending moment sends one digest for all
//! it missed when it is back. Recording the period queues one job; the job writes one outbox
//! row per subscriber under a unique key, in batches whose progress is kept with the rows (as
//! the fan-out of single updates does), so each subscriber gets exactly one digest per period.
//! Subscribers whose topics saw nothing in the period get none: an empty period sends nothing.
//! The mail worker composes each distinct choice of topics once and sends it to everyone who
//! made that choice.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Weekday};

use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::models::album::{self, Album, AlbumStatus};
use crate::models::change::{self, EventKind};
use crate::models::digest::{self, Digest};
use crate::models::gallery_category;
use crate::models::job::{self, Job};
use crate::models::outbox::NewMessage;
use crate::models::post::{self, Post};
use crate::models::subscriber::{self, Cadence, Topic};
use crate::models::video::{self, Video, VideoStatus};

/// The job kind of a digest's fan-out.
pub const DIGEST_JOB: &str = "digest";
/// Subscribers read per batch.
pub const BATCH: i64 = 1000;
/// A digest fan-out's lease.
pub const LEASE: Duration = Duration::minutes(2);
/// Events read per query while gathering a period.
const EVENTS_BATCH: i64 = 1000;

/// When digests go out, in the site's time zone (`CMS_DIGEST_HOUR`, `CMS_DIGEST_DAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The hour, 0–23.
    pub hour: u32,
    /// The day weekly digests go out.
    pub day: Weekday,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            hour: 9,
            day: Weekday::Mon,
        }
    }
}

impl Schedule {
    /// The sending moment of `cadence` on local date `d` (UTC), if it sends that day. An hour
    /// a clock change skips is sent at the first moment after it.
    fn moment_on(
        &self,
        cadence: Cadence,
        tz: chrono_tz::Tz,
        d: NaiveDate,
    ) -> Option<NaiveDateTime> {
        if cadence == Cadence::Weekly && d.weekday() != self.day {
            return None;
        }
        if cadence == Cadence::Immediate {
            return None;
        }
        (0..3).find_map(|extra| {
            let local = d.and_hms_opt((self.hour + extra).min(23), 0, 0)?;
            tz.from_local_datetime(&local)
                .earliest()
                .map(|t| t.naive_utc())
        })
    }

    /// The latest sending moment of `cadence` at or before `at` (UTC), with its period's name
    /// (the local date).
    pub fn latest(
        &self,
        cadence: Cadence,
        tz: chrono_tz::Tz,
        at: NaiveDateTime,
    ) -> Option<(NaiveDateTime, String)> {
        let today = tz.from_utc_datetime(&at).date_naive();
        (0..9).find_map(|back| {
            let d = today - Duration::days(back);
            self.moment_on(cadence, tz, d)
                .filter(|m| *m <= at)
                .map(|m| (m, d.format("%Y-%m-%d").to_string()))
        })
    }

    /// The next sending moment of `cadence` after `at` (UTC).
    pub fn next(
        &self,
        cadence: Cadence,
        tz: chrono_tz::Tz,
        at: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        let today = tz.from_utc_datetime(&at).date_naive();
        (0..9).find_map(|ahead| {
            self.moment_on(cadence, tz, today + Duration::days(ahead))
                .filter(|m| *m > at)
        })
    }
}

/// How long a period of `cadence` is (where its first period starts).
fn length(cadence: Cadence) -> Duration {
    match cadence {
        Cadence::Weekly => Duration::days(7),
        _ => Duration::days(1),
    }
}

/// The cadences digests are made for.
pub const CADENCES: [Cadence; 2] = [Cadence::Daily, Cadence::Weekly];

/// Records the periods whose sending moment has come (one per cadence at most) and queues
/// their fan-out; the digests recorded. Reads first: between sending moments it writes
/// nothing.
pub fn schedule_due(db: &Db, config: &Config) -> Result<Vec<Digest>> {
    schedule_at(db, config, db.now())
}

/// [`schedule_due`] as if it were `at`.
pub fn schedule_at(db: &Db, config: &Config, at: NaiveDateTime) -> Result<Vec<Digest>> {
    let mut made = Vec::new();
    for cadence in CADENCES {
        let Some((moment, period)) = config.digest.latest(cadence, config.timezone, at) else {
            continue;
        };
        let exists = {
            let mut conn = db.conn()?;
            digest::find_period(&mut conn, cadence.as_str(), &period)?.is_some()
        };
        if exists {
            continue;
        }
        let d = db.write_blocking(|conn| -> Result<Option<Digest>> {
            if digest::find_period(conn, cadence.as_str(), &period)?.is_some() {
                return Ok(None);
            }
            let after = match digest::last_of(conn, cadence.as_str())? {
                Some(prev) => prev.upto_event,
                None => digest::last_event_before(conn, moment - length(cadence))?,
            };
            let upto = change::last_id(conn)?.max(after);
            let Some(d) = digest::create(conn, cadence.as_str(), &period, after, upto, at)? else {
                return Ok(None);
            };
            job::enqueue(
                conn,
                DIGEST_JOB,
                &serde_json::json!({ "digest": d.id }),
                at.min(db.now()),
                Some(&format!("digest:{}", d.id)),
            )?;
            Ok(Some(d))
        })?;
        made.extend(d);
    }
    Ok(made)
}

/// New photos in one album during a period.
#[derive(Debug, Clone)]
pub struct AlbumNews {
    pub album: Album,
    /// How many photos are new (all of them when the album was published in the period).
    pub added: i64,
    /// The first new photo's id: the thumbnails start there (0: the album's first photos).
    pub first_photo: i64,
    /// The names of its gallery categories, outermost first.
    pub path: Vec<String>,
}

/// What a period brought readers, as it stands now (what was taken back since is left out).
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub albums: Vec<AlbumNews>,
    pub posts: Vec<Post>,
    pub videos: Vec<Video>,
}

impl Contents {
    /// Nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.albums.is_empty() && self.posts.is_empty() && self.videos.is_empty()
    }

    /// The new photos in all.
    pub fn photos(&self) -> i64 {
        self.albums.iter().map(|a| a.added).sum()
    }

    /// What it holds, counted: "1,158 new photos", "2 posts", "1 video" (what is there, in
    /// that order) — the digest's subject and the admin's preview say it the same way.
    pub fn counts(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if self.photos() > 0 {
            parts.push(crate::units::counted(
                self.photos(),
                "new photo",
                "new photos",
            ));
        }
        if !self.posts.is_empty() {
            parts.push(crate::units::counted(
                self.posts.len() as i64,
                "post",
                "posts",
            ));
        }
        if !self.videos.is_empty() {
            parts.push(crate::units::counted(
                self.videos.len() as i64,
                "video",
                "videos",
            ));
        }
        parts
    }

    /// The topics that have something to tell.
    pub fn topics(&self) -> Vec<Topic> {
        let mut t = Vec::new();
        if !self.posts.is_empty() {
            t.push(Topic::News);
        }
        if !self.albums.is_empty() {
            t.push(Topic::Gallery);
        }
        if !self.videos.is_empty() {
            t.push(Topic::Videos);
        }
        t
    }

    /// Only what `topics` are about.
    pub fn only(&self, topics: &[Topic]) -> Contents {
        Contents {
            albums: if topics.contains(&Topic::Gallery) {
                self.albums.clone()
            } else {
                Vec::new()
            },
            posts: if topics.contains(&Topic::News) {
                self.posts.clone()
            } else {
                Vec::new()
            },
            videos: if topics.contains(&Topic::Videos) {
                self.videos.clone()
            } else {
                Vec::new()
            },
        }
    }
}

/// Gathers the announced (not imported) events with ids in (`after`, `upto`], grouped per
/// album, post and video, in the order they first happened, each as it is now.
pub fn contents(conn: &mut DbConn, after: i64, upto: i64) -> Result<Contents> {
    // Album id → (published in the period, photos added, the first added photo's id).
    let mut albums: Vec<(i64, bool, i64, i64)> = Vec::new();
    let (mut posts, mut videos): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut cursor = after;
    while cursor < upto {
        let events = change::after(conn, cursor, EVENTS_BATCH)?;
        let Some(last) = events.last().map(|e| e.id) else {
            break;
        };
        for e in events.iter().filter(|e| e.id <= upto && !e.quiet) {
            match e.kind() {
                Some(EventKind::PostPublished) if !posts.contains(&e.item_id) => {
                    posts.push(e.item_id)
                }
                Some(EventKind::VideoPublished) if !videos.contains(&e.item_id) => {
                    videos.push(e.item_id)
                }
                Some(k @ (EventKind::AlbumPublished | EventKind::PhotosAdded)) => {
                    let i = match albums.iter().position(|a| a.0 == e.item_id) {
                        Some(i) => i,
                        None => {
                            albums.push((e.item_id, false, 0, i64::MAX));
                            albums.len() - 1
                        }
                    };
                    if k == EventKind::AlbumPublished {
                        albums[i].1 = true;
                    } else {
                        let p = e.payload_json();
                        albums[i].2 += p["count"].as_i64().unwrap_or(0);
                        if let Some(first) = p["photo_ids"]
                            .as_array()
                            .and_then(|ids| ids.iter().filter_map(|i| i.as_i64()).min())
                        {
                            albums[i].3 = albums[i].3.min(first);
                        }
                    }
                }
                _ => {}
            }
        }
        cursor = last;
    }
    let mut out = Contents::default();
    for (id, published, added, first) in albums {
        let Some(a) = album::find(conn, id)?.filter(|a| a.status == AlbumStatus::Published) else {
            continue;
        };
        let (added, first_photo) = if published {
            (a.photo_count, 0)
        } else {
            (
                added.min(a.photo_count),
                if first == i64::MAX { 0 } else { first },
            )
        };
        if added <= 0 {
            continue;
        }
        let path = match a.category_id {
            Some(c) => gallery_category::breadcrumb(conn, c)?
                .into_iter()
                .map(|c| c.name)
                .collect(),
            None => Vec::new(),
        };
        out.albums.push(AlbumNews {
            album: a,
            added,
            first_photo,
            path,
        });
    }
    for id in posts {
        out.posts
            .extend(post::find(conn, id)?.filter(Post::is_public));
    }
    for id in videos {
        out.videos
            .extend(video::find(conn, id)?.filter(|v| v.status == VideoStatus::Published));
    }
    Ok(out)
}

/// The events (after, upto] the next digest of `cadence` would tell of if it were made at
/// `at`.
pub fn upcoming_period(
    conn: &mut DbConn,
    cadence: Cadence,
    config: &Config,
    at: NaiveDateTime,
) -> Result<(i64, i64)> {
    let after = match digest::last_of(conn, cadence.as_str())? {
        Some(prev) => prev.upto_event,
        // The first digest will start a period before its sending moment.
        None => {
            let start = config
                .digest
                .next(cadence, config.timezone, at)
                .unwrap_or(at)
                - length(cadence);
            digest::last_event_before(conn, start)?
        }
    };
    Ok((after, change::last_id(conn)?))
}

/// What the next digest of `cadence` would hold if it were made at `at`: the admin's preview.
pub fn upcoming(
    conn: &mut DbConn,
    cadence: Cadence,
    config: &Config,
    at: NaiveDateTime,
) -> Result<Contents> {
    let (after, upto) = upcoming_period(conn, cadence, config, at)?;
    contents(conn, after, upto)
}

/// The payload of a preview emailed to an editor (outbox kind `digest-preview`): the next
/// digest of `cadence` as it stood when asked for, with every topic.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PreviewMessage {
    pub cadence: Cadence,
    pub after: i64,
    pub upto: i64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct DigestPayload {
    digest: i64,
}

/// An outbox row's payload: the digest and the topics of this subscriber's choice that have
/// something in it (the mail worker composes each distinct choice once).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DigestMessage {
    pub digest: i64,
    pub topics: Vec<Topic>,
}

/// Runs one due digest fan-out, if any, to the end; how many messages it queued. `host` names
/// the site in Message-IDs.
pub fn run_next(db: &Db, owner: &str, host: &str) -> Result<Option<usize>> {
    let Some(j): Option<Job> = db.write_blocking(|c| {
        Ok::<_, Error>(job::claim_at(c, owner, &[DIGEST_JOB], LEASE, db.now())?)
    })?
    else {
        return Ok(None);
    };
    let p: DigestPayload = serde_json::from_str(&j.payload)
        .map_err(|e| Error::Internal(format!("bad digest job {}: {e}", j.id)))?;
    let (d, told) = {
        let mut conn = db.conn()?;
        let Some(d) = digest::find(&mut conn, p.digest)? else {
            drop(conn);
            db.write_blocking(|c| Ok::<_, Error>(job::complete(c, j.id, owner)?))?;
            return Ok(Some(0));
        };
        let told = contents(&mut conn, d.after_event, d.upto_event)?.topics();
        (d, told)
    };
    let cadence: Cadence = d
        .cadence
        .parse()
        .map_err(|e: String| Error::Internal(format!("digest {}: {e}", d.id)))?;
    // An empty period sends nothing.
    if told.is_empty() {
        db.write_blocking(|c| Ok::<_, Error>(job::complete(c, j.id, owner)?))?;
        return Ok(Some(0));
    }
    crate::notify::fan_out(db, &j, owner, LEASE, |conn, after| {
        let batch = subscriber::confirmed_for_cadence(conn, cadence, d.created_at, after, BATCH)?;
        let Some(last) = batch.last().map(|b| b.0) else {
            return Ok(None);
        };
        let messages = batch
            .into_iter()
            .filter_map(|(sid, email, topics)| {
                let topics: Vec<Topic> = topics.into_iter().filter(|t| told.contains(t)).collect();
                (!topics.is_empty()).then(|| NewMessage {
                    dedupe_key: format!("digest-{}:sub:{sid}", d.id),
                    kind: "digest".into(),
                    subscriber_id: Some(sid),
                    recipient: email,
                    item_type: Some("digest".into()),
                    item_id: Some(d.id),
                    message_id: format!("<digest-{}.{sid}@{host}>", d.id),
                    payload: serde_json::to_string(&DigestMessage {
                        digest: d.id,
                        topics,
                    })
                    .unwrap_or_else(|_| "{}".into()),
                })
            })
            .collect();
        Ok(Some((last, messages)))
    })
    .map(Some)
}

/// The digests recorded lately, newest first, with how many messages each queued.
pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<(Digest, i64)>> {
    use crate::schema::{digests, email_outbox};
    use diesel::prelude::*;
    let rows: Vec<Digest> = digests::table
        .order(digests::id.desc())
        .limit(limit)
        .select(Digest::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The messages of all of them in one statement.
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let counts: std::collections::HashMap<Option<i64>, i64> = email_outbox::table
        .filter(email_outbox::item_type.eq("digest"))
        .filter(email_outbox::item_id.eq_any(&ids))
        .group_by(email_outbox::item_id)
        .select((email_outbox::item_id, diesel::dsl::count_star()))
        .load::<(Option<i64>, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|d| {
            let n = counts.get(&Some(d.id)).copied().unwrap_or(0);
            (d, n)
        })
        .collect())
}
