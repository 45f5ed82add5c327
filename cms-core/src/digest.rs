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
    /// a clock change skips is sent at the first moment after it; an hour it repeats, the
    /// first time.
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
        // By quarter hours, into the next day if need be: some clock changes skip half an hour
        // (Australia/Lord_Howe) or a day's last hour (America/Nuuk).
        let start = d.and_hms_opt(self.hour.min(23), 0, 0)?;
        (0..=12).find_map(|quarter| {
            tz.from_local_datetime(&(start + Duration::minutes(15 * quarter)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use chrono_tz::Tz;

    const LONDON: Tz = chrono_tz::Europe::London;
    const NEW_YORK: Tz = chrono_tz::America::New_York;
    const LOS_ANGELES: Tz = chrono_tz::America::Los_Angeles;
    const TOKYO: Tz = chrono_tz::Asia::Tokyo;
    const LORD_HOWE: Tz = chrono_tz::Australia::Lord_Howe;
    const NUUK: Tz = chrono_tz::America::Nuuk;

    /// A moment, UTC unless said otherwise.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("a valid date and time")
    }

    fn daily(hour: u32) -> Schedule {
        Schedule {
            hour,
            ..Schedule::default()
        }
    }

    fn weekly(hour: u32, day: Weekday) -> Schedule {
        Schedule { hour, day }
    }

    fn latest(s: Schedule, c: Cadence, tz: Tz, now: NaiveDateTime) -> (NaiveDateTime, String) {
        s.latest(c, tz, now)
            .unwrap_or_else(|| panic!("{s:?} {c:?} in {tz}: no sending moment before {now}"))
    }

    fn next(s: Schedule, c: Cadence, tz: Tz, now: NaiveDateTime) -> NaiveDateTime {
        s.next(c, tz, now)
            .unwrap_or_else(|| panic!("{s:?} {c:?} in {tz}: no sending moment after {now}"))
    }

    fn period(m: NaiveDateTime, name: &str) -> (NaiveDateTime, String) {
        (m, name.to_string())
    }

    fn local(tz: Tz, utc: NaiveDateTime) -> NaiveDateTime {
        tz.from_utc_datetime(&utc).naive_local()
    }

    #[test]
    fn the_default_is_nine_on_monday() {
        assert_eq!(
            Schedule::default(),
            Schedule {
                hour: 9,
                day: Weekday::Mon
            }
        );
    }

    #[test]
    fn daily_in_london_summer_is_nine_british_summer_time() {
        let (s, c) = (Schedule::default(), Cadence::Daily);
        // 08:59 BST on 15 July: yesterday's 09:00 BST, 08:00 UTC.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 7, 59)),
            period(at(2026, 7, 14, 8, 0), "2026-07-14")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 8, 0) - Duration::seconds(1)),
            period(at(2026, 7, 14, 8, 0), "2026-07-14")
        );
        // 09:00 BST exactly, and after: today's.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 8, 0)),
            period(at(2026, 7, 15, 8, 0), "2026-07-15")
        );
        // 08:30 UTC: a schedule at 09:00 UTC would still say yesterday.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 8, 30)),
            period(at(2026, 7, 15, 8, 0), "2026-07-15")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 23, 30)),
            period(at(2026, 7, 15, 8, 0), "2026-07-15")
        );
        assert_eq!(local(LONDON, at(2026, 7, 15, 8, 0)), at(2026, 7, 15, 9, 0));
        // The next one is strictly after.
        assert_eq!(
            next(s, c, LONDON, at(2026, 7, 15, 7, 59)),
            at(2026, 7, 15, 8, 0)
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 7, 15, 8, 0)),
            at(2026, 7, 16, 8, 0)
        );
    }

    #[test]
    fn daily_in_london_winter_is_nine_greenwich_mean_time() {
        let (s, c) = (Schedule::default(), Cadence::Daily);
        assert_eq!(
            latest(s, c, LONDON, at(2026, 1, 15, 8, 59)),
            period(at(2026, 1, 14, 9, 0), "2026-01-14")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 1, 15, 9, 0)),
            period(at(2026, 1, 15, 9, 0), "2026-01-15")
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 1, 15, 8, 59)),
            at(2026, 1, 15, 9, 0)
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 1, 15, 9, 0)),
            at(2026, 1, 16, 9, 0)
        );
    }

    #[test]
    fn daily_far_from_utc_names_the_local_date() {
        let c = Cadence::Daily;
        // 07:00 in Tokyo is 22:00 UTC the day before; the period is named by the local date.
        let s = daily(7);
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 7, 14, 22, 30)),
            period(at(2026, 7, 14, 22, 0), "2026-07-15")
        );
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 7, 14, 21, 59)),
            period(at(2026, 7, 13, 22, 0), "2026-07-14")
        );
        assert_eq!(
            next(s, c, TOKYO, at(2026, 7, 14, 21, 59)),
            at(2026, 7, 14, 22, 0)
        );
        // 09:00 in Tokyo is midnight UTC.
        let s = Schedule::default();
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 1, 14, 23, 59)),
            period(at(2026, 1, 14, 0, 0), "2026-01-14")
        );
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 1, 15, 0, 0)),
            period(at(2026, 1, 15, 0, 0), "2026-01-15")
        );
        // 20:00 in Los Angeles is 03:00 UTC the day after in summer (PDT), 04:00 in winter.
        let s = daily(20);
        assert_eq!(
            latest(s, c, LOS_ANGELES, at(2026, 7, 15, 3, 30)),
            period(at(2026, 7, 15, 3, 0), "2026-07-14")
        );
        assert_eq!(
            latest(s, c, LOS_ANGELES, at(2026, 7, 15, 2, 59)),
            period(at(2026, 7, 14, 3, 0), "2026-07-13")
        );
        assert_eq!(
            latest(s, c, LOS_ANGELES, at(2026, 1, 15, 4, 0)),
            period(at(2026, 1, 15, 4, 0), "2026-01-14")
        );
        assert_eq!(
            next(s, c, LOS_ANGELES, at(2026, 1, 15, 4, 0)),
            at(2026, 1, 16, 4, 0)
        );
        // 09:00 in Los Angeles: 16:00 UTC in summer.
        assert_eq!(
            latest(Schedule::default(), c, LOS_ANGELES, at(2026, 7, 15, 15, 59)),
            period(at(2026, 7, 14, 16, 0), "2026-07-14")
        );
    }

    #[test]
    fn weekly_on_monday_is_only_ever_monday() {
        let (s, c) = (Schedule::default(), Cadence::Weekly);
        // Wednesday 15 July: Monday 13th's.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 12, 0)),
            period(at(2026, 7, 13, 8, 0), "2026-07-13")
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 7, 15, 12, 0)),
            at(2026, 7, 20, 8, 0)
        );
        // Monday 20th, 08:59 BST: still the week before's; at 09:00 BST its own.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 20, 7, 59)),
            period(at(2026, 7, 13, 8, 0), "2026-07-13")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 20, 8, 0)),
            period(at(2026, 7, 20, 8, 0), "2026-07-20")
        );
        // Every hour of the week between.
        let mut t = at(2026, 7, 13, 8, 0);
        while t < at(2026, 7, 20, 8, 0) {
            assert_eq!(
                latest(s, c, LONDON, t),
                period(at(2026, 7, 13, 8, 0), "2026-07-13"),
                "at {t}"
            );
            assert_eq!(next(s, c, LONDON, t), at(2026, 7, 20, 8, 0), "at {t}");
            t += Duration::hours(1);
        }
        // In winter, 09:00 GMT.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 1, 14, 12, 0)),
            period(at(2026, 1, 12, 9, 0), "2026-01-12")
        );
    }

    #[test]
    fn weekly_on_friday_is_only_ever_friday() {
        let (s, c) = (weekly(9, Weekday::Fri), Cadence::Weekly);
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 15, 12, 0)),
            period(at(2026, 7, 10, 8, 0), "2026-07-10")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 17, 7, 59)),
            period(at(2026, 7, 10, 8, 0), "2026-07-10")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 7, 17, 8, 0)),
            period(at(2026, 7, 17, 8, 0), "2026-07-17")
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 7, 15, 12, 0)),
            at(2026, 7, 17, 8, 0)
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 7, 17, 8, 0)),
            at(2026, 7, 24, 8, 0)
        );
    }

    #[test]
    fn weekly_far_from_utc_goes_by_the_local_weekday() {
        // Monday 07:00 in Tokyo is Sunday 22:00 UTC.
        let (s, c) = (weekly(7, Weekday::Mon), Cadence::Weekly);
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 7, 12, 22, 30)),
            period(at(2026, 7, 12, 22, 0), "2026-07-13")
        );
        assert_eq!(
            latest(s, c, TOKYO, at(2026, 7, 12, 21, 59)),
            period(at(2026, 7, 5, 22, 0), "2026-07-06")
        );
        assert_eq!(
            next(s, c, TOKYO, at(2026, 7, 12, 21, 59)),
            at(2026, 7, 12, 22, 0)
        );
    }

    #[test]
    fn immediate_has_no_sending_moment() {
        let s = Schedule::default();
        assert_eq!(
            s.latest(Cadence::Immediate, LONDON, at(2026, 7, 15, 12, 0)),
            None
        );
        assert_eq!(
            s.next(Cadence::Immediate, LONDON, at(2026, 7, 15, 12, 0)),
            None
        );
    }

    #[test]
    fn an_hour_skipped_in_spring_is_sent_when_the_clocks_have_changed() {
        let c = Cadence::Daily;
        // London, 29 March 2026: 01:00 GMT becomes 02:00 BST (01:00 UTC).
        let s = daily(1);
        assert_eq!(
            latest(s, c, LONDON, at(2026, 3, 29, 0, 59)),
            period(at(2026, 3, 28, 1, 0), "2026-03-28")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 3, 29, 1, 0)),
            period(at(2026, 3, 29, 1, 0), "2026-03-29")
        );
        assert_eq!(local(LONDON, at(2026, 3, 29, 1, 0)), at(2026, 3, 29, 2, 0));
        assert_eq!(
            next(s, c, LONDON, at(2026, 3, 28, 1, 0)),
            at(2026, 3, 29, 1, 0)
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 3, 29, 1, 0)),
            at(2026, 3, 30, 0, 0)
        );
        // Weekly on that Sunday too.
        let s = weekly(1, Weekday::Sun);
        assert_eq!(
            latest(s, Cadence::Weekly, LONDON, at(2026, 3, 30, 12, 0)),
            period(at(2026, 3, 29, 1, 0), "2026-03-29")
        );
        assert_eq!(
            next(s, Cadence::Weekly, LONDON, at(2026, 3, 22, 1, 0)),
            at(2026, 3, 29, 1, 0)
        );
        // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let s = daily(2);
        assert_eq!(
            latest(s, c, NEW_YORK, at(2026, 3, 8, 6, 59)),
            period(at(2026, 3, 7, 7, 0), "2026-03-07")
        );
        assert_eq!(
            latest(s, c, NEW_YORK, at(2026, 3, 8, 7, 0)),
            period(at(2026, 3, 8, 7, 0), "2026-03-08")
        );
        assert_eq!(local(NEW_YORK, at(2026, 3, 8, 7, 0)), at(2026, 3, 8, 3, 0));
        assert_eq!(
            next(s, c, NEW_YORK, at(2026, 3, 8, 7, 0)),
            at(2026, 3, 9, 6, 0)
        );
    }

    #[test]
    fn a_half_hour_skipped_is_sent_when_the_clocks_have_changed() {
        // Lord Howe Island, 4 October 2026: 02:00 (+10:30) becomes 02:30 (+11), 15:30 UTC.
        let (s, c) = (daily(2), Cadence::Daily);
        assert_eq!(
            latest(s, c, LORD_HOWE, at(2026, 10, 3, 15, 29)),
            period(at(2026, 10, 2, 15, 30), "2026-10-03")
        );
        assert_eq!(
            latest(s, c, LORD_HOWE, at(2026, 10, 3, 15, 30)),
            period(at(2026, 10, 3, 15, 30), "2026-10-04")
        );
        assert_eq!(
            local(LORD_HOWE, at(2026, 10, 3, 15, 30)),
            at(2026, 10, 4, 2, 30)
        );
        assert_eq!(
            next(s, c, LORD_HOWE, at(2026, 10, 3, 15, 29)),
            at(2026, 10, 3, 15, 30)
        );
        assert_eq!(
            next(s, c, LORD_HOWE, at(2026, 10, 3, 15, 30)),
            at(2026, 10, 4, 15, 0)
        );
    }

    #[test]
    fn a_days_last_hour_skipped_is_sent_at_the_next_midnight() {
        // Nuuk, Saturday 28 March 2026: 23:00 (-02) becomes Sunday 00:00 (-01), 01:00 UTC.
        let s = weekly(23, Weekday::Sat);
        let c = Cadence::Daily;
        assert_eq!(
            latest(s, c, NUUK, at(2026, 3, 29, 0, 59)),
            period(at(2026, 3, 28, 1, 0), "2026-03-27")
        );
        assert_eq!(
            latest(s, c, NUUK, at(2026, 3, 29, 1, 0)),
            period(at(2026, 3, 29, 1, 0), "2026-03-28")
        );
        assert_eq!(local(NUUK, at(2026, 3, 29, 1, 0)), at(2026, 3, 29, 0, 0));
        assert_eq!(
            next(s, c, NUUK, at(2026, 3, 28, 1, 0)),
            at(2026, 3, 29, 1, 0)
        );
        assert_eq!(
            next(s, c, NUUK, at(2026, 3, 29, 1, 0)),
            at(2026, 3, 30, 0, 0)
        );
        // The week is not skipped either.
        let c = Cadence::Weekly;
        assert_eq!(
            next(s, c, NUUK, at(2026, 3, 22, 1, 0)),
            at(2026, 3, 29, 1, 0)
        );
        assert_eq!(
            latest(s, c, NUUK, at(2026, 3, 29, 1, 0)),
            period(at(2026, 3, 29, 1, 0), "2026-03-28")
        );
    }

    #[test]
    fn an_hour_repeated_in_autumn_is_sent_the_first_time_only() {
        let c = Cadence::Daily;
        // London, 25 October 2026: 01:00–02:00 local happens at 00:00 UTC (BST), then again
        // at 01:00 UTC (GMT).
        let s = daily(1);
        assert_eq!(
            latest(s, c, LONDON, at(2026, 10, 24, 23, 59)),
            period(at(2026, 10, 24, 0, 0), "2026-10-24")
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 10, 25, 0, 0)),
            period(at(2026, 10, 25, 0, 0), "2026-10-25")
        );
        // The second 01:30 sends nothing again.
        assert_eq!(
            latest(s, c, LONDON, at(2026, 10, 25, 1, 30)),
            period(at(2026, 10, 25, 0, 0), "2026-10-25")
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 10, 24, 0, 0)),
            at(2026, 10, 25, 0, 0)
        );
        assert_eq!(
            next(s, c, LONDON, at(2026, 10, 25, 0, 0)),
            at(2026, 10, 26, 1, 0)
        );
        // New York, 1 November 2026: 01:00 EDT (05:00 UTC), not 01:00 EST (06:00 UTC).
        assert_eq!(
            latest(s, c, NEW_YORK, at(2026, 11, 1, 6, 30)),
            period(at(2026, 11, 1, 5, 0), "2026-11-01")
        );
        assert_eq!(
            next(s, c, NEW_YORK, at(2026, 11, 1, 5, 0)),
            at(2026, 11, 2, 6, 0)
        );
    }

    #[test]
    fn the_next_moment_is_a_local_day_or_week_later_across_clock_changes() {
        let s = Schedule::default();
        let c = Cadence::Daily;
        // Saturday 09:00 GMT to Sunday 09:00 BST: 23 hours.
        let n = next(s, c, LONDON, at(2026, 3, 28, 9, 0));
        assert_eq!(n, at(2026, 3, 29, 8, 0));
        assert_eq!(n - at(2026, 3, 28, 9, 0), Duration::hours(23));
        assert_eq!(local(LONDON, n), at(2026, 3, 29, 9, 0));
        assert_eq!(
            latest(s, c, LONDON, n),
            period(at(2026, 3, 29, 8, 0), "2026-03-29")
        );
        // Saturday 09:00 BST to Sunday 09:00 GMT: 25 hours.
        let n = next(s, c, LONDON, at(2026, 10, 24, 8, 0));
        assert_eq!(n, at(2026, 10, 25, 9, 0));
        assert_eq!(n - at(2026, 10, 24, 8, 0), Duration::hours(25));
        assert_eq!(local(LONDON, n), at(2026, 10, 25, 9, 0));
        // New York: Saturday 09:00 EST (14:00 UTC) to Sunday 09:00 EDT (13:00 UTC).
        assert_eq!(
            next(s, c, NEW_YORK, at(2026, 3, 7, 14, 0)),
            at(2026, 3, 8, 13, 0)
        );
        // Weekly: Monday to Monday, a week less or more an hour.
        let c = Cadence::Weekly;
        let n = next(s, c, LONDON, at(2026, 3, 23, 9, 0));
        assert_eq!(n, at(2026, 3, 30, 8, 0));
        assert_eq!(
            n - at(2026, 3, 23, 9, 0),
            Duration::days(7) - Duration::hours(1)
        );
        let n = next(s, c, LONDON, at(2026, 10, 19, 8, 0));
        assert_eq!(n, at(2026, 10, 26, 9, 0));
        assert_eq!(
            n - at(2026, 10, 19, 8, 0),
            Duration::days(7) + Duration::hours(1)
        );
        assert_eq!(
            latest(s, c, LONDON, at(2026, 10, 26, 8, 59)),
            period(at(2026, 10, 19, 8, 0), "2026-10-19")
        );
    }

    /// Through a whole year, half hour by half hour: the latest moment is at or before now and
    /// the next after it, with nothing between; each is on its local date (on the weekday)
    /// at the hour, or, when the hour does not exist, the first moment after it; consecutive
    /// periods are one local day (week) apart and never empty.
    #[test]
    fn a_year_of_sending_moments_holds_together() {
        let cases = [
            (LONDON, daily(9), Cadence::Daily),
            (LONDON, daily(1), Cadence::Daily),
            (LONDON, daily(0), Cadence::Daily),
            (LONDON, daily(23), Cadence::Daily),
            (NEW_YORK, daily(2), Cadence::Daily),
            (LOS_ANGELES, daily(20), Cadence::Daily),
            (TOKYO, daily(7), Cadence::Daily),
            (LORD_HOWE, daily(2), Cadence::Daily),
            (NUUK, daily(23), Cadence::Daily),
            (LONDON, Schedule::default(), Cadence::Weekly),
            (LONDON, weekly(1, Weekday::Sun), Cadence::Weekly),
            (NEW_YORK, weekly(2, Weekday::Sun), Cadence::Weekly),
            (NUUK, weekly(23, Weekday::Sat), Cadence::Weekly),
        ];
        for (tz, s, c) in cases {
            let step = if c == Cadence::Weekly { 7 } else { 1 };
            let mut t = at(2026, 1, 1, 0, 0);
            while t < at(2027, 1, 1, 0, 0) {
                let what = format!("{s:?} {c:?} in {tz} at {t}");
                let (l, name) = latest(s, c, tz, t);
                let n = next(s, c, tz, t);
                assert!(l <= t && t < n, "{what}: {l} .. {n}");
                assert_eq!(next(s, c, tz, l), n, "{what}");
                let (n_latest, n_name) = latest(s, c, tz, n);
                assert_eq!(n_latest, n, "{what}");
                let d = NaiveDate::parse_from_str(&name, "%Y-%m-%d").expect("a date");
                let nd = NaiveDate::parse_from_str(&n_name, "%Y-%m-%d").expect("a date");
                assert_eq!(nd - d, Duration::days(step), "{what}");
                if c == Cadence::Weekly {
                    assert_eq!(d.weekday(), s.day, "{what}");
                }
                let hour = d.and_hms_opt(s.hour, 0, 0).expect("an hour");
                match tz.from_local_datetime(&hour).earliest() {
                    Some(m) => assert_eq!(l, m.naive_utc(), "{what}"),
                    None => {
                        assert!(local(tz, l) > hour, "{what}: {l}");
                        assert!(local(tz, l - Duration::seconds(1)) < hour, "{what}: {l}");
                    }
                }
                let span = n - l;
                assert!(
                    span > Duration::zero()
                        && (span - Duration::days(step)).num_minutes().abs() <= 60,
                    "{what}: {l} .. {n}"
                );
                assert_eq!(local(tz, l).minute() % 15, 0, "{what}: {l}");
                t += Duration::minutes(30);
            }
        }
    }
}
