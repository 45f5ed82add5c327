//! A single post: body (with live embeds), categories, tags, author, dates, the source of
//! reposted articles, share cards and JSON-LD. Old slugs answer 301 with the current one.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, PostKind};
use cms_core::models::{photo, user};

use super::lists::share_image;
use crate::cache::{self, Rendered, html};
use crate::embeds;
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::views::{Thumb, iso, long_date, long_day};

/// A link to a category or tag.
#[derive(Debug, Clone)]
pub struct TermLink {
    pub href: String,
    pub name: String,
}

/// Where a reposted article first appeared.
#[derive(Debug, Clone)]
pub struct SourceView {
    pub publication: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    l: Layout,
    title: String,
    body_html: String,
    date: String,
    datetime: String,
    updated: Option<(String, String)>,
    author: Option<String>,
    categories: Vec<TermLink>,
    tags: Vec<TermLink>,
    source: Option<SourceView>,
    /// The featured photo, drawn at the top and linking to its page.
    featured: Option<Thumb>,
    /// Shown through a preview link: says so, and that readers cannot see it yet.
    preview: bool,
}

/// `GET /posts/{slug}`
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    cache::respond(&req, &state, None, move |conn, snap| {
        let Some((p, author)) = post::find_published_by_slug_with_author(conn, &slug)? else {
            return match post::redirect_for(conn, &slug)? {
                Some(new) => Ok(Rendered::moved_permanently(format!("/posts/{new}"))),
                None => Err(WebError::NotFound),
            };
        };
        html(&page_of(conn, snap, &base, p, author, false)?)
    })
    .await
}

/// `GET /preview/{token}`: a post in any status, in the site's layout, for whoever holds a
/// preview link the editor made (signed, expiring; see `cms_core::preview`). Never cached,
/// never indexed.
pub async fn preview(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let now = cms_core::models::now();
    let id = match cms_core::preview::check(&state.config.secret, &token, now) {
        Ok(id) => id,
        Err(cms_core::preview::Refused::Expired) => {
            return Err(WebError::Gone(
                "This preview link has expired. Ask the post's editor for a new one.".into(),
            ));
        }
        Err(cms_core::preview::Refused::Invalid) => return Err(WebError::NotFound),
    };
    let base = state.config.server.base_url.clone();
    let version = state.db.content_version().await?.version;
    let snapshots = state.snapshot.clone();
    let media = state.config.storage.media_public_url.clone();
    let body = state
        .db
        .run(move |conn| {
            cms_core::thumbs::with_media_base(media.as_deref(), || {
                let snap = snapshots.get(conn, version)?;
                let p = post::find(conn, id)?.ok_or(WebError::NotFound)?;
                let author = match p.author_id {
                    Some(id) => user::find(conn, id)?.map(|u| u.name),
                    None => None,
                };
                page_of(conn, &snap, &base, p, author, true)?
                    .render()
                    .map_err(|e| WebError::Internal(e.to_string()))
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Robots-Tag", "noindex, nofollow"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body))
}

/// The page of a post (with its author's name): published for readers, or any status for a
/// preview.
fn page_of(
    conn: &mut cms_core::DbConn,
    snap: &cms_core::snapshot::Snapshot,
    base: &str,
    p: post::Post,
    author: Option<String>,
    preview: bool,
) -> Result<PostPage, WebError> {
    {
        let site = Site::of(snap);
        let (categories, tags) = post::terms_of(conn, &[p.id])?.take(p.id);
        let categories: Vec<TermLink> = categories
            .into_iter()
            .map(|c| TermLink {
                href: format!("/category/{}", c.slug),
                name: c.name,
            })
            .collect();
        let tags = tags
            .into_iter()
            .map(|t| TermLink {
                href: format!("/tag/{}", t.slug),
                name: t.name,
            })
            .collect();
        let featured_photo = match p.featured_photo_id {
            Some(id) => photo::published_by_ids(conn, &[id])?.pop(),
            None => None,
        };
        let image = featured_photo
            .as_ref()
            .and_then(|(ph, _)| share_image(base, ph));
        let featured = featured_photo.map(|(ph, a)| Thumb::of(&ph, &a.title, 960));
        let source = (p.kind == PostKind::Article
            && (p.source_publication.is_some()
                || p.source_url.is_some()
                || p.source_author.is_some()))
        .then(|| SourceView {
            publication: p.source_publication.clone(),
            author: p.source_author.clone(),
            date: p.source_date.map(long_day),
            url: p.source_url.clone(),
        });
        let published = p.published_at.unwrap_or(p.created_at);
        let updated = (p.updated_at - published > chrono::Duration::days(1))
            .then(|| (long_date(p.updated_at), iso(p.updated_at)));
        let path = format!("/posts/{}", p.slug);
        let mut l = Layout::new(&site, base, &p.title, &path, Section::News);
        l.noindex = preview;
        if preview {
            // Not the address of anything readers can see (yet): no canonical link.
            l.canonical.clear();
        }
        l.description = p.summary();
        l.og_type = "article";
        l.og_image = image.clone();
        // A preview states no address and no publication it does not have yet.
        let public = !preview || p.published_at.is_some();
        l.set_json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": if p.kind == PostKind::News { "NewsArticle" } else { "Article" },
            "headline": p.title,
            "datePublished": public.then(|| iso(published)),
            "dateModified": iso(p.updated_at),
            "mainEntityOfPage": (!preview).then(|| format!("{base}{path}")),
            "author": author.as_ref().map(|a| serde_json::json!({"@type": "Person", "name": a})),
            "image": image.as_ref().map(|i| i.0.clone()),
            "publisher": {"@type": "Organization", "name": site.title},
            "isBasedOn": p.source_url,
        }));
        let body_html = embeds::expand(conn, snap, &p.body_html)?;
        Ok(PostPage {
            l,
            title: p.title,
            body_html,
            date: long_date(published),
            datetime: iso(published),
            updated,
            author,
            categories,
            tags,
            source,
            featured,
            preview,
        })
    }
}
