//! The photo picker behind "Choose from the gallery" (a post's featured photo, the site's header
//! image): albums found by title or category path, newest additions first, then an album's
//! photos page by page, as JSON for the editor's dialog. Without script the photo number field
//! still works.

use actix_web::{HttpRequest, HttpResponse, web};
use cms_core::AppState;
use cms_core::media::photo_variant_key;
use cms_core::models::album::{self, AlbumStatus};
use cms_core::models::photo;
use serde::Serialize;

use crate::auth::Editor;
use crate::error::AdminError;
use crate::forms;
use actix_web::ResponseError;

/// Albums listed at once.
const ALBUMS: usize = 36;
/// Photos per page of an album.
const PHOTOS: i64 = 48;

#[derive(Serialize)]
struct AlbumOut {
    id: i64,
    title: String,
    path: String,
    count: String,
    draft: bool,
    cover: Option<String>,
}

#[derive(Serialize)]
struct PhotoOut {
    id: i64,
    thumb: String,
    alt: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Albums {
        albums: Vec<AlbumOut>,
    },
    Photos {
        album: String,
        photos: Vec<PhotoOut>,
        page: i64,
        more: bool,
    },
}

fn thumb_of(p: &photo::Photo) -> String {
    let w = p.variant_widths().first().copied().unwrap_or(320);
    format!("/media/{}", photo_variant_key(&p.content_hash, w))
}

/// `GET /admin/photos/pick?q=…` (albums) or `?album=ID&page=N` (an album's photos). A problem
/// is answered in JSON too (`{"error": "…"}` with its status), for the dialog to show.
pub async fn pick(state: web::Data<AppState>, req: HttpRequest, user: Editor) -> HttpResponse {
    match answer(state, req, user).await {
        Ok(resp) => resp,
        Err(e) => {
            let status = e.status_code();
            let message = match &e {
                AdminError::BadRequest(m) => m.clone(),
                AdminError::NotFound => "There is no such album.".into(),
                _ if status.is_server_error() => {
                    tracing::error!(error = %e, "photo picker");
                    "The gallery could not be read. Please try again.".into()
                }
                other => other.to_string(),
            };
            HttpResponse::build(status)
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({ "error": message }))
        }
    }
}

async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: Editor,
) -> Result<HttpResponse, AdminError> {
    let number =
        |name: &str, default: i64| -> Result<i64, AdminError> {
            match forms::query_value(&req, name) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    AdminError::BadRequest(format!("{name} must be a number from 1"))
                }),
            }
        };
    let album_id = match forms::query_value(&req, "album") {
        Some(_) => Some(number("album", 1)?),
        None => None,
    };
    let page = number("page", 1)?.min(1_000_000);
    let q = forms::query_value(&req, "q")
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let version = state.db.content_version().await?.version;
    let snapshots = state.snapshot.clone();
    let answer = state
        .db
        .run(move |conn| -> Result<Answer, AdminError> {
            if let Some(id) = album_id {
                let a = album::find(conn, id)?.ok_or(AdminError::NotFound)?;
                let photos = photo::page_in_album(conn, id, (page - 1) * PHOTOS, PHOTOS + 1)?;
                let more = photos.len() as i64 > PHOTOS;
                return Ok(Answer::Photos {
                    photos: photos
                        .iter()
                        .take(PHOTOS as usize)
                        .map(|p| PhotoOut {
                            id: p.id,
                            thumb: thumb_of(p),
                            alt: format!("{}, photo {}", a.title, p.position + 1),
                        })
                        .collect(),
                    album: a.title,
                    page,
                    more,
                });
            }
            let snap = snapshots.get(conn, version)?;
            let mut all = album::all(conn)?;
            all.sort_by(|a, b| b.last_added_at.cmp(&a.last_added_at).then(b.id.cmp(&a.id)));
            let path_of = |a: &album::Album| -> String {
                a.category_id
                    .map(|c| {
                        snap.breadcrumb(c)
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(" › ")
                    })
                    .unwrap_or_default()
            };
            let found: Vec<(album::Album, String)> = all
                .into_iter()
                .filter(|a| a.photo_count > 0)
                .map(|a| {
                    let path = path_of(&a);
                    (a, path)
                })
                .filter(|(a, path)| {
                    q.is_empty()
                        || a.title.to_lowercase().contains(&q)
                        || path.to_lowercase().contains(&q)
                })
                .take(ALBUMS)
                .collect();
            let cover_ids: Vec<i64> = found.iter().filter_map(|(a, _)| a.cover_photo_id).collect();
            let covers = photo::by_ids(conn, &cover_ids)?;
            Ok(Answer::Albums {
                albums: found
                    .into_iter()
                    .map(|(a, path)| AlbumOut {
                        cover: a
                            .cover_photo_id
                            .and_then(|id| covers.iter().find(|p| p.id == id))
                            .map(thumb_of),
                        count: cms_core::units::counted(a.photo_count, "photo", "photos"),
                        draft: a.status != AlbumStatus::Published,
                        id: a.id,
                        title: a.title,
                        path,
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}
