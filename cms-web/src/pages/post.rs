//! A single post: body, categories, tags, author, dates, and the source of reposted articles.
//! Old slugs answer with a permanent redirect to the current one.

use actix_web::{HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, PostKind};
use cms_core::models::user;

use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::views::{iso, long_date, long_day};

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
    author: Option<String>,
    categories: Vec<TermLink>,
    tags: Vec<TermLink>,
    source: Option<SourceView>,
}

enum Outcome {
    Page(Box<PostPage>),
    Redirect(String),
}

/// `GET /posts/{slug}`
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    let outcome = state
        .db
        .run(move |conn| {
            let Some(p) = post::find_published_by_slug(conn, &slug)? else {
                return match post::redirect_for(conn, &slug)? {
                    Some(new) => Ok(Outcome::Redirect(format!("/posts/{new}"))),
                    None => Err(WebError::NotFound),
                };
            };
            let site = Site::load(conn)?;
            let categories = post::categories_of(conn, &[p.id])?
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| TermLink {
                    href: format!("/category/{}", c.slug),
                    name: c.name,
                })
                .collect();
            let tags = post::tags_of(conn, &[p.id])?
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .map(|t| TermLink {
                    href: format!("/tag/{}", t.slug),
                    name: t.name,
                })
                .collect();
            let author = match p.author_id {
                Some(id) => user::find(conn, id)?.map(|u| u.name),
                None => None,
            };
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
            let mut l = Layout::new(
                &site,
                &base,
                &p.title,
                &format!("/posts/{}", p.slug),
                Section::News,
            );
            l.description = p.summary();
            Ok(Outcome::Page(Box::new(PostPage {
                l,
                title: p.title,
                body_html: p.body_html,
                date: long_date(published),
                datetime: iso(published),
                author,
                categories,
                tags,
                source,
            })))
        })
        .await?;
    match outcome {
        Outcome::Page(page) => crate::render(page.as_ref()),
        Outcome::Redirect(to) => Ok(HttpResponse::MovedPermanently()
            .insert_header(("Location", to))
            .finish()),
    }
}
