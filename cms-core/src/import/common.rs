//! What the importers share: text from the old site's markup, new albums that announce
//! nothing, photo details an import knows, and redirects from old addresses.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::DbConn;
use crate::error::Result;
use crate::markdown::decode_entities;
use crate::models::album::{self, AlbumStatus, NewAlbum};
use crate::models::audit::Actor;
use crate::models::redirect::{self, Target};
use crate::notify;
use crate::schema::photos;

/// Text with tags removed and entities decoded, whitespace collapsed.
pub fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An address of the old site as a path (any URL on any host: sites move between hosts).
pub(crate) fn old_path(link: &str) -> Option<String> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    redirect::normalize(link)
}

/// A redirect from an old address, unless it is empty or the home page.
pub(crate) fn put_redirect(
    conn: &mut DbConn,
    old: &str,
    target: &Target,
    source: &str,
) -> Result<()> {
    match old_path(old) {
        Some(p) if p != "/" => redirect::put(conn, &p, target, source),
        _ => Ok(()),
    }
}

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "jpe", "png", "gif", "webp"];

/// Does the file name say image (the types the pipeline takes)?
pub(crate) fn is_image_name(rel: &str) -> bool {
    rel.rsplit_once('.')
        .is_some_and(|(_, e)| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A new album, published without announcing it (imported content is not news).
pub(crate) fn new_album(
    conn: &mut DbConn,
    actor: &Actor,
    category: Option<i64>,
    title: &str,
    description: &str,
) -> Result<album::Album> {
    let a = crate::service::gallery::create_album(
        conn,
        &actor.importing(),
        &NewAlbum {
            category_id: category,
            title,
            description,
            credit: "",
            status: AlbumStatus::Draft,
        },
    )?;
    notify::mark_announced(conn, &notify::Item::Albums(vec![a.id]))?;
    Ok(a)
}

/// The ids of an album's photos with these contents.
pub(crate) fn photo_ids_by_hash(
    conn: &mut DbConn,
    album_id: i64,
    hashes: &[&str],
) -> Result<HashMap<String, i64>> {
    Ok(photos::table
        .filter(photos::album_id.eq(album_id))
        .filter(photos::content_hash.eq_any(hashes))
        .select((photos::content_hash, photos::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Text from an old site for a photo's column: trimmed and cut to `max` characters.
pub(crate) fn text_of(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text() {
        assert_eq!(
            plain("<p>One <b>two</b></p>\n<p>three &amp; four</p>"),
            "One two three & four"
        );
        assert!(is_image_name("a/b.JPG"));
        assert!(!is_image_name("a/b.pdf"));
    }
}
