//! The dashboard: what is scheduled, what was edited last, and the archive's size.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, AdminFilter, PostStatus};
use diesel::prelude::*;

use crate::auth::Editor;
use crate::error::AdminError;
use crate::forms;
use crate::layout::{Chrome, Section};
use crate::time;

/// A post line.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: i64,
    pub title: String,
    pub when: String,
}

/// The backups panel.
#[derive(Debug, Clone, Default)]
pub struct Backups {
    /// "every 1 day into /srv/backups, keeping 7", when scheduled.
    pub schedule: Option<String>,
    /// The last backup that finished: when, where, how big.
    pub last: Option<String>,
    pub last_detail: Option<String>,
    /// The last failure, when it is newer than the last success.
    pub failure: Option<String>,
    pub running: Option<String>,
    pub next: Option<String>,
}

fn every_text(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        _ if s.is_multiple_of(7 * 86_400) => (s / (7 * 86_400), "week"),
        _ if s.is_multiple_of(86_400) => (s / 86_400, "day"),
        _ if s.is_multiple_of(3600) => (s / 3600, "hour"),
        _ => (s / 60, "minute"),
    };
    if n == 1 {
        format!("every {unit}")
    } else {
        format!("every {n} {unit}s")
    }
}

fn backups(
    status: Option<cms_core::backup::schedule::Status>,
    schedule: Option<&cms_core::backup::schedule::Schedule>,
    tz: chrono_tz::Tz,
) -> Backups {
    use cms_core::units::bytes;
    let status = status.unwrap_or_default();
    Backups {
        schedule: schedule.map(|s| {
            format!(
                "{} into {}, keeping the last {}",
                every_text(s.every),
                s.dir.display(),
                s.keep
            )
        }),
        last: status.last.as_ref().map(|d| {
            format!(
                "{} ({})",
                time::display(d.at, tz),
                if d.scheduled {
                    "scheduled"
                } else {
                    "cms backup"
                }
            )
        }),
        last_detail: status.last.as_ref().map(|d| {
            format!(
                "{}: database {}, {} media files ({}), {} written, in {:.0} s",
                d.folder,
                bytes(d.database_bytes),
                d.media_files,
                bytes(d.media_bytes),
                bytes(d.copied_bytes),
                d.seconds.max(1.0)
            )
        }),
        failure: status
            .failure
            .as_ref()
            .map(|f| format!("{}: {}", time::display(f.at, tz), f.message)),
        running: status
            .running
            .as_ref()
            .map(|r| format!("since {}", time::display(r.since, tz))),
        next: schedule.map(|s| match status.next_due(s.every) {
            Some(t) => time::display(t, tz),
            None => "now".into(),
        }),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Page {
    c: Chrome,
    counts: Vec<(PostStatus, i64)>,
    albums: i64,
    photos: i64,
    videos: i64,
    subscribers: i64,
    scheduled: Vec<Line>,
    recent: Vec<Line>,
    backups: Backups,
}

/// `GET /admin`
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let tz = state.config.timezone;
    let page = state
        .db
        .run(move |conn| {
            use cms_core::schema::{albums, photos, subscribers, videos};
            let counts = post::status_counts(conn)?;
            let lines = |posts: Vec<post::Post>, scheduled: bool| {
                posts
                    .into_iter()
                    .map(|p| Line {
                        id: p.id,
                        when: time::display(
                            if scheduled {
                                p.publish_at.unwrap_or(p.updated_at)
                            } else {
                                p.updated_at
                            },
                            tz,
                        ),
                        title: p.title,
                    })
                    .collect::<Vec<_>>()
            };
            let (sched, _) = post::admin_list(
                conn,
                &AdminFilter {
                    status: Some(PostStatus::Scheduled),
                    ..AdminFilter::default()
                },
                0,
                10,
            )?;
            let (recent, _) = post::admin_list(conn, &AdminFilter::default(), 0, 8)?;
            Ok::<_, cms_core::Error>((
                counts,
                albums::table.count().get_result::<i64>(conn)?,
                photos::table.count().get_result::<i64>(conn)?,
                videos::table.count().get_result::<i64>(conn)?,
                subscribers::table.count().get_result::<i64>(conn)?,
                lines(sched, true),
                lines(recent, false),
                cms_core::backup::schedule::Status::read(conn)?,
            ))
        })
        .await?;
    let (counts, albums, photos, videos, subscribers, scheduled, recent, status) = page;
    let backups = backups(status, state.config.backup.as_ref(), tz);
    forms::render(&Page {
        c: Chrome::new(&req, &user.0, "Dashboard", Section::Dashboard),
        counts,
        albums,
        photos,
        videos,
        subscribers,
        scheduled,
        recent,
        backups,
    })
}
