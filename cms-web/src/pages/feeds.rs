//! Atom and RSS feeds, site-wide and per category: the 20 newest published posts with their
//! full HTML (links made absolute), categories and authors.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use cms_core::AppState;
use cms_core::models::category;
use cms_core::models::post::{self, ListFilter, Post};
use cms_core::models::user;

use crate::cache::{self, Rendered};
use crate::embeds;
use crate::error::WebError;
use crate::layout::Site;
use cms_core::snapshot::Snapshot;

const ITEMS: i64 = 20;

/// Rewrites root-relative `href`, `src` and `srcset` URLs in HTML to absolute ones, so feed
/// readers (which do not know our address) can follow them.
pub fn absolutize(html: &str, base: &str) -> String {
    let mut out = html
        .replace("href=\"/", &format!("href=\"{base}/"))
        .replace("src=\"/", &format!("src=\"{base}/"));
    // srcset lists several URLs: "a 320w, b 960w".
    let mut result = String::with_capacity(out.len());
    let needle = "srcset=\"";
    while let Some(i) = out.find(needle) {
        result.push_str(&out[..i + needle.len()]);
        let rest = &out[i + needle.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        let list = rest[..end]
            .split(", ")
            .map(|item| {
                if item.starts_with('/') {
                    format!("{base}{item}")
                } else {
                    item.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        result.push_str(&list);
        out = rest[end..].to_string();
    }
    result.push_str(&out);
    result
}

struct FeedItem {
    post: Post,
    html: String,
    author: Option<String>,
    categories: Vec<(String, String)>,
}

struct FeedData {
    title: String,
    page_url: String,
    self_url: String,
    items: Vec<FeedItem>,
}

fn load(
    conn: &mut cms_core::DbConn,
    snap: &Snapshot,
    base: &str,
    category_slug: Option<&str>,
    self_path: &str,
) -> Result<FeedData, WebError> {
    let site = Site::of(snap);
    let (title, page_url, filter) = match category_slug {
        Some(slug) => {
            let c = category::find_by_slug(conn, slug)?.ok_or(WebError::NotFound)?;
            let ids = category::subtree_ids(conn, c.id)?;
            (
                format!("{} – {}", c.name, site.title),
                format!("{base}/category/{}", c.slug),
                ListFilter {
                    category_ids: Some(ids),
                    ..ListFilter::default()
                },
            )
        }
        None => (
            site.title.clone(),
            format!("{base}/"),
            ListFilter::default(),
        ),
    };
    let posts = post::list_page(conn, &filter, 0, ITEMS, None)?;
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let mut cats = post::categories_of(conn, &ids)?;
    let author_ids: Vec<i64> = posts.iter().filter_map(|p| p.author_id).collect();
    let names = user::names(conn, &author_ids)?;
    let mut items = Vec::with_capacity(posts.len());
    for p in posts {
        let html = absolutize(&embeds::expand(conn, snap, &p.body_html)?, base);
        items.push(FeedItem {
            author: p.author_id.and_then(|id| names.get(&id).cloned()),
            categories: cats
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.slug, c.name))
                .collect(),
            html,
            post: p,
        });
    }
    Ok(FeedData {
        title,
        page_url,
        self_url: format!("{base}{self_path}"),
        items,
    })
}

fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::FixedOffset> {
    t.and_utc().fixed_offset()
}

fn atom(data: FeedData, base: &str) -> Result<String, WebError> {
    use atom_syndication::{Category, Content, Entry, Feed, Link, Person, Text};
    let updated = data
        .items
        .iter()
        .map(|i| i.post.updated_at)
        .max()
        .unwrap_or_else(cms_core::models::now);
    let entries: Vec<Entry> = data
        .items
        .into_iter()
        .map(|i| {
            let url = format!("{base}/posts/{}", i.post.slug);
            let published = i.post.published_at.unwrap_or(i.post.created_at);
            Entry {
                title: Text::plain(i.post.title.clone()),
                id: format!("{base}/posts/{}#{}", i.post.slug, i.post.id),
                updated: utc(i.post.updated_at),
                published: Some(utc(published)),
                authors: i
                    .author
                    .map(|name| Person {
                        name,
                        ..Person::default()
                    })
                    .into_iter()
                    .collect(),
                links: vec![Link {
                    href: url,
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Link::default()
                }],
                summary: Some(Text::plain(i.post.summary())),
                content: Some(Content {
                    value: Some(i.html),
                    content_type: Some("html".into()),
                    ..Content::default()
                }),
                categories: i
                    .categories
                    .into_iter()
                    .map(|(slug, name)| Category {
                        term: slug,
                        label: Some(name),
                        ..Category::default()
                    })
                    .collect(),
                ..Entry::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(data.title),
        id: data.self_url.clone(),
        updated: utc(updated),
        links: vec![
            Link {
                href: data.self_url,
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Link::default()
            },
            Link {
                href: data.page_url,
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Link::default()
            },
        ],
        generator: Some(atom_syndication::Generator {
            value: "Keepsake".into(),
            ..Default::default()
        }),
        entries,
        ..Feed::default()
    };
    Ok(feed.to_string())
}

fn rss(data: FeedData, base: &str) -> Result<String, WebError> {
    use rss::{Category, Channel, Guid, Item};
    let last = data.items.iter().map(|i| i.post.updated_at).max();
    let items: Vec<Item> = data
        .items
        .into_iter()
        .map(|i| {
            let url = format!("{base}/posts/{}", i.post.slug);
            let published = i.post.published_at.unwrap_or(i.post.created_at);
            let mut item = Item::default();
            item.set_title(i.post.title.clone());
            item.set_link(url.clone());
            item.set_guid(Guid {
                value: url,
                permalink: true,
            });
            item.set_pub_date(utc(published).to_rfc2822());
            // RSS descriptions are HTML (the crate writes them as CDATA): the summary is plain
            // text, so it is escaped to stay text in every reader.
            item.set_description(cms_core::markdown::escape_html(&i.post.summary()));
            item.set_content(i.html);
            item.set_categories(
                i.categories
                    .into_iter()
                    .map(|(_, name)| Category { name, domain: None })
                    .collect::<Vec<_>>(),
            );
            if let Some(a) = i.author {
                let mut dc = rss::extension::dublincore::DublinCoreExtension::default();
                dc.set_creators(vec![a]);
                item.set_dublin_core_ext(dc);
            }
            item
        })
        .collect();
    let mut channel = Channel::default();
    channel.set_title(data.title.clone());
    channel.set_link(data.page_url);
    channel.set_description(format!("The latest from {}", data.title));
    channel.set_language("en".to_string());
    channel.set_generator("Keepsake".to_string());
    if let Some(t) = last {
        channel.set_last_build_date(utc(t).to_rfc2822());
    }
    let mut ns = BTreeMap::new();
    ns.insert(
        "content".to_string(),
        "http://purl.org/rss/1.0/modules/content/".to_string(),
    );
    ns.insert(
        "dc".to_string(),
        "http://purl.org/dc/elements/1.1/".to_string(),
    );
    ns.insert(
        "atom".to_string(),
        "http://www.w3.org/2005/Atom".to_string(),
    );
    channel.set_namespaces(ns);
    let mut atom_ext = rss::extension::atom::AtomExtension::default();
    atom_ext.set_links(vec![atom_syndication::Link {
        href: data.self_url,
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Default::default()
    }]);
    channel.set_atom_ext(atom_ext);
    channel.set_items(items);
    Ok(channel.to_string())
}

/// `GET /feed.atom`
pub async fn site_atom(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let data = load(conn, snap, &base, None, "/feed.atom")?;
        Ok(Rendered::typed(
            "application/atom+xml; charset=utf-8",
            atom(data, &base)?,
        ))
    })
    .await
}

/// `GET /feed.rss`
pub async fn site_rss(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let data = load(conn, snap, &base, None, "/feed.rss")?;
        Ok(Rendered::typed(
            "application/rss+xml; charset=utf-8",
            rss(data, &base)?,
        ))
    })
    .await
}

/// `GET /category/{slug}/feed.atom`
pub async fn category_atom(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    cache::respond(&req, &state, None, move |conn, snap| {
        let data = load(
            conn,
            snap,
            &base,
            Some(&slug),
            &format!("/category/{slug}/feed.atom"),
        )?;
        Ok(Rendered::typed(
            "application/atom+xml; charset=utf-8",
            atom(data, &base)?,
        ))
    })
    .await
}

/// `GET /category/{slug}/feed.rss`
pub async fn category_rss(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    cache::respond(&req, &state, None, move |conn, snap| {
        let data = load(
            conn,
            snap,
            &base,
            Some(&slug),
            &format!("/category/{slug}/feed.rss"),
        )?;
        Ok(Rendered::typed(
            "application/rss+xml; charset=utf-8",
            rss(data, &base)?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_absolute() {
        let html = r#"<a href="/albums/x">x</a><img src="/media/a-320.jpg" srcset="/media/a-320.jpg 320w, /media/a-960.jpg 960w"><a href="https://other.example/">o</a>"#;
        let out = absolutize(html, "https://fan.example");
        assert_eq!(
            out,
            r#"<a href="https://fan.example/albums/x">x</a><img src="https://fan.example/media/a-320.jpg" srcset="https://fan.example/media/a-320.jpg 320w, https://fan.example/media/a-960.jpg 960w"><a href="https://other.example/">o</a>"#
        );
    }
}
