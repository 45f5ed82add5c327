//! Lists of posts: all news (`/posts`), a category with its subcategories, a tag, a month.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use cms_core::AppState;
use cms_core::models::post::{self, ListFilter};
use cms_core::models::{category, tag};
use cms_core::snapshot::Snapshot;

use super::lists::{PostSummary, post_summaries};
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{FeedLink, Layout, Section, Site};
use crate::query;
use crate::views::Pager;

/// Posts per list page.
pub const PER_PAGE: u64 = 20;

/// A month in the archive list.
#[derive(Debug, Clone)]
pub struct MonthLink {
    pub href: String,
    pub label: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "post_list.html")]
struct PostList {
    l: Layout,
    heading: String,
    intro: String,
    posts: Vec<PostSummary>,
    pager: Pager,
    months: Vec<MonthLink>,
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("")
}

fn months(stats: &post::PostStats) -> Vec<MonthLink> {
    stats
        .months
        .iter()
        .map(|&(y, m, count)| MonthLink {
            href: format!("/archive/{y}/{m:02}"),
            label: format!("{} {y}", month_name(m)),
            count,
        })
        .collect()
}

struct ListSpec {
    path: String,
    heading: String,
    intro: String,
    filter: ListFilter,
    feeds: Vec<FeedLink>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    resolve: impl FnOnce(&mut cms_core::DbConn, &Snapshot) -> Result<ListSpec, WebError>
    + Send
    + 'static,
) -> Result<HttpResponse, WebError> {
    let page_no = query::page(req.query_string())?;
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let spec = resolve(conn, snap)?;
        let site = Site::of(snap);
        let per = PER_PAGE as i64;
        let offset = (page_no as i64 - 1) * per;
        let stats = snap.post_stats(conn)?;
        let total = post::count_listed(conn, &spec.filter, Some(stats))?;
        query::offset_for(page_no, PER_PAGE, total)?;
        let posts = post::list_page(conn, &spec.filter, offset, per, Some((stats, total)))?;
        let posts = post_summaries(conn, snap, &base, &posts)?;
        let canonical = if page_no > 1 {
            format!("{}?page={page_no}", spec.path)
        } else {
            spec.path.clone()
        };
        let mut l = Layout::new(&site, &base, &spec.heading, &canonical, Section::News);
        l.feeds.extend(spec.feeds);
        l.description = if spec.intro.is_empty() {
            format!("{} – {}", spec.heading, site.title)
        } else {
            spec.intro.clone()
        };
        html(&PostList {
            l,
            heading: spec.heading,
            intro: spec.intro,
            posts,
            pager: Pager::new(&spec.path, page_no, query::page_count(total, PER_PAGE)),
            months: months(stats),
        })
    })
    .await
}

/// `GET /posts`
pub async fn all(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    list(state, req, |_, _| {
        Ok(ListSpec {
            path: "/posts".into(),
            heading: "News".into(),
            intro: String::new(),
            filter: ListFilter::default(),
            feeds: Vec::new(),
        })
    })
    .await
}

/// `GET /category/{slug}`: the category and everything beneath it.
pub async fn by_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = slug.into_inner();
    let base = state.config.server.base_url.clone();
    list(state, req, move |conn, _| {
        let c = category::find_by_slug(conn, &slug)?.ok_or(WebError::NotFound)?;
        let ids = category::subtree_ids(conn, c.id)?;
        Ok(ListSpec {
            path: format!("/category/{}", c.slug),
            heading: c.name.clone(),
            intro: c.description.clone(),
            filter: ListFilter {
                category_ids: Some(ids),
                ..ListFilter::default()
            },
            feeds: vec![
                FeedLink {
                    title: format!("{} (Atom)", c.name),
                    href: format!("{base}/category/{}/feed.atom", c.slug),
                    mime: "application/atom+xml",
                },
                FeedLink {
                    title: format!("{} (RSS)", c.name),
                    href: format!("{base}/category/{}/feed.rss", c.slug),
                    mime: "application/rss+xml",
                },
            ],
        })
    })
    .await
}

/// `GET /tag/{slug}`
pub async fn by_tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = slug.into_inner();
    list(state, req, move |conn, _| {
        let t = tag::find_by_slug(conn, &slug)?.ok_or(WebError::NotFound)?;
        Ok(ListSpec {
            path: format!("/tag/{}", t.slug),
            heading: format!("Tagged “{}”", t.name),
            intro: String::new(),
            filter: ListFilter {
                tag_id: Some(t.id),
                ..ListFilter::default()
            },
            feeds: Vec::new(),
        })
    })
    .await
}

/// `GET /archive/{yyyy}/{mm}`: a malformed year or month is a 400; a month with nothing, 404.
pub async fn by_month(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (y, m) = path.into_inner();
    let bad = || {
        WebError::BadRequest(
            "the archive address is /archive/YYYY/MM, e.g. /archive/2023/08".into(),
        )
    };
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let end = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(bad)?;
    list(state, req, move |conn, snap| {
        let filter = ListFilter {
            published_from: start.and_hms_opt(0, 0, 0),
            published_before: end.and_hms_opt(0, 0, 0),
            ..ListFilter::default()
        };
        let stats = snap.post_stats(conn)?;
        if post::count_listed(conn, &filter, Some(stats))? == 0 {
            return Err(WebError::NotFound);
        }
        Ok(ListSpec {
            path: format!("/archive/{year:04}/{month:02}"),
            heading: format!("{} {}", month_name(start.month()), start.year()),
            intro: String::new(),
            filter,
            feeds: Vec::new(),
        })
    })
    .await
}
