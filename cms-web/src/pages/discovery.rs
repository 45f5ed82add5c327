//! Discovery: `robots.txt`, and a sitemap index with sitemaps of at most 50,000 URLs each for
//! posts, albums, photos and videos. Photo sitemaps cover fixed ranges of ids, so each is one
//! indexed range query however large the archive grows.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use cms_core::AppState;
use cms_core::markdown::escape_html;
use cms_core::models::{album, photo, post, video};

use crate::cache::{self, Rendered};
use crate::error::WebError;

/// URLs per sitemap, the protocol's limit.
pub const SITEMAP_MAX: i64 = 50_000;

fn urlset(urls: impl Iterator<Item = (String, Option<NaiveDateTime>)>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, lastmod) in urls {
        out.push_str("<url><loc>");
        out.push_str(&escape_html(&loc));
        out.push_str("</loc>");
        if let Some(t) = lastmod {
            out.push_str(&format!(
                "<lastmod>{}</lastmod>",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}

/// `GET /robots.txt`
pub async fn robots(state: web::Data<AppState>) -> HttpResponse {
    let base = &state.config.server.base_url;
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(format!("User-agent: *\nDisallow: /admin\nDisallow: /api/\nDisallow: /search\nDisallow: /preview/\nAllow: /\n\nSitemap: {base}/sitemap.xml\n"))
}

/// `GET /sitemap.xml`: the index.
pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, _| {
        let mut maps = vec!["pages".to_string(), "posts".to_string(), "albums".to_string(), "videos".to_string()];
        if let Some(max) = photo::max_id(conn)? {
            for k in 0..=max / SITEMAP_MAX {
                if photo::any_published_in_range(conn, k * SITEMAP_MAX, (k + 1) * SITEMAP_MAX)? {
                    maps.push(format!("photos-{k}"));
                }
            }
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for m in maps {
            out.push_str(&format!("<sitemap><loc>{}/sitemaps/{m}.xml</loc></sitemap>\n", escape_html(&base)));
        }
        out.push_str("</sitemapindex>\n");
        Ok(Rendered::typed("application/xml; charset=utf-8", out))
    })
    .await
}

/// `GET /sitemaps/{name}.xml`
pub async fn sitemap(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let name = name.into_inner();
    let name = name
        .strip_suffix(".xml")
        .ok_or(WebError::NotFound)?
        .to_string();
    cache::respond(&req, &state, None, move |conn, snap| {
        let body = match name.as_str() {
            "pages" => urlset(
                ["/", "/posts", "/gallery", "/gallery/latest", "/videos"]
                    .into_iter()
                    .map(|p| (format!("{base}{p}"), None))
                    .chain(
                        snap.categories
                            .iter()
                            .filter(|c| c.album_count > 0)
                            .map(|c| (format!("{base}/gallery/{}", c.path), Some(c.updated_at))),
                    ),
            ),
            "posts" => urlset(
                post::published_slugs(conn)?
                    .into_iter()
                    .take(SITEMAP_MAX as usize)
                    .map(|(s, t)| (format!("{base}/posts/{s}"), Some(t))),
            ),
            "albums" => urlset(
                album::published_slugs(conn)?
                    .into_iter()
                    .take(SITEMAP_MAX as usize)
                    .map(|(s, t)| (format!("{base}/albums/{s}"), Some(t))),
            ),
            "videos" => urlset(
                video::published_slugs(conn)?
                    .into_iter()
                    .take(SITEMAP_MAX as usize)
                    .map(|(s, t)| (format!("{base}/videos/{s}"), Some(t))),
            ),
            other => {
                let k: i64 = other
                    .strip_prefix("photos-")
                    .and_then(|k| k.parse().ok())
                    .filter(|k| *k >= 0 && *k < i64::MAX / SITEMAP_MAX - 1)
                    .ok_or(WebError::NotFound)?;
                let ids =
                    photo::published_ids_in_range(conn, k * SITEMAP_MAX, (k + 1) * SITEMAP_MAX)?;
                if ids.is_empty() {
                    return Err(WebError::NotFound);
                }
                urlset(
                    ids.into_iter()
                        .map(|id| (format!("{base}/photos/{id}"), None)),
                )
            }
        };
        Ok(Rendered::typed("application/xml; charset=utf-8", body))
    })
    .await
}
