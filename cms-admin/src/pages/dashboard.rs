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
            ))
        })
        .await?;
    let (counts, albums, photos, videos, subscribers, scheduled, recent) = page;
    forms::render(&Page {
        c: Chrome::new(&req, &user.0, "Dashboard", Section::Dashboard),
        counts,
        albums,
        photos,
        videos,
        subscribers,
        scheduled,
        recent,
    })
}
