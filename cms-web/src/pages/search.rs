//! `/search?q=`: posts, albums, captioned photos, videos and transcripts, ranked, paginated,
//! with highlighted snippets. Drafts are never in the index, so never in the results.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::video;
use cms_core::search::{self, Hit};

use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::query;
use crate::views::Pager;

const PER_PAGE: u64 = 20;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    l: Layout,
    q: String,
    searched: bool,
    hits: Vec<Hit>,
    total: i64,
    pager: Pager,
}

/// `GET /search?q=…&page=N`
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let q = query::text(req.query_string(), "q", 200)?;
    let page_no = query::page(req.query_string())?;
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let site = Site::of(snap);
        let q = q.trim().to_string();
        let searched = !search::terms(&q).is_empty();
        let per = PER_PAGE as i64;
        let mut results = if searched {
            search::search(conn, &q, (page_no as i64 - 1) * per, per)?
        } else {
            Default::default()
        };
        // A video found by its transcript links to the line, with the player starting there.
        let slugs: Vec<String> = results
            .hits
            .iter()
            .filter(|h| h.kind == search::Kind::Video)
            .filter_map(|h| h.url.strip_prefix("/videos/").map(str::to_string))
            .collect();
        if !slugs.is_empty() {
            for v in video::published_by_slugs(conn, &slugs)? {
                let cues = v.cues();
                let Some((n, cue)) = search::cue_matching(&cues, &q) else {
                    continue;
                };
                let url = format!("/videos/{}", v.slug);
                for h in results.hits.iter_mut().filter(|h| h.url == url) {
                    h.url = match cue.start_ms / 1000 {
                        s if s <= 86_400 => format!("{url}?t={s}#cue-{n}"),
                        _ => format!("{url}#cue-{n}"),
                    };
                    h.at = Some(cue.start_label());
                    // The line that matched reads better than the description.
                    h.snippet_html = search::cue_snippet_html(&cue.text, &q);
                }
            }
        }
        if searched {
            query::offset_for(page_no, PER_PAGE, results.total)?;
        }
        let title = if searched {
            format!("Search: {q}")
        } else {
            "Search".to_string()
        };
        let mut l = Layout::new(&site, &base, &title, "/search", Section::Search);
        l.noindex = true;
        let path = format!(
            "/search?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let pages = query::page_count(results.total, PER_PAGE);
        let pager = Pager::new(&path, page_no, pages);
        html(&SearchPage {
            l,
            q,
            searched,
            total: results.total,
            hits: results.hits,
            pager,
        })
    })
    .await
}
