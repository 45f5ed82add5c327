//! Settings: the site's look — title, tagline, header image (a gallery photo or an upload),
//! accent colour, footer text, social links and icon. Stored in the database through
//! [`cms_core::branding`] and shown on every page at once (the content version moves).

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::branding::{self, BrandingInput, HeaderChoice, SiteIcon};
use cms_core::ingest::process;
use cms_core::media::{photo_variant_key, sniff};
use cms_core::models::audit;

use crate::auth::{AdminOnly, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, see_other};
use crate::layout::{Chrome, Section};
use crate::upload::{self, StagedFile};

/// The largest header image accepted.
const HEADER_LIMIT: u64 = 20 << 20;
/// Widths made of an uploaded header image (it spans the page).
const HEADER_WIDTHS: [u32; 4] = [640, 1280, 1920, 2560];

/// The form as shown (and as sent back when something is refused).
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    pub title: String,
    pub tagline: String,
    pub accent: String,
    pub footer: String,
    pub social: String,
    pub header_photo: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    c: Chrome,
    f: SettingsForm,
    errors: Errors,
    /// The header image as it is now: its small size's URL.
    header_preview: Option<String>,
    header_from_photo: Option<i64>,
    icon_preview: Option<String>,
    /// The problems for the summary at the top, by the fields' names as the form shows them.
    summary: Vec<(&'static str, String)>,
}

/// The label of a form field, for the summary of problems.
fn label(field: &str) -> &'static str {
    match field {
        "title" => "Site title",
        "tagline" => "Tagline",
        "accent" => "Accent colour",
        "footer" => "Footer text",
        "social" => "Social links",
        "header_photo" => "Header photo from the gallery",
        "header_file" => "Header image upload",
        "icon_file" => "Icon",
        _ => "Settings",
    }
}

fn form_of(b: &branding::Branding) -> SettingsForm {
    SettingsForm {
        title: b.title.clone(),
        tagline: b.tagline.clone(),
        accent: b.accent_or_default().to_string(),
        footer: b.footer.clone(),
        social: b.social_text(),
        header_photo: b
            .header
            .as_ref()
            .and_then(|h| h.photo_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

async fn render(
    state: &AppState,
    req: &HttpRequest,
    user: &AdminOnly,
    f: Option<SettingsForm>,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let b = state
        .db
        .run(|conn| Ok::<_, cms_core::Error>(branding::load(conn)?))
        .await?;
    let header_preview = b.header.as_ref().and_then(|h| {
        h.widths
            .first()
            .map(|w| format!("/media/{}", photo_variant_key(&h.hash, *w)))
    });
    forms::render_status(
        errors.status(),
        &SettingsPage {
            c: Chrome::new(req, &user.0, "Settings", Section::Settings),
            f: f.unwrap_or_else(|| form_of(&b)),
            summary: errors
                .all()
                .iter()
                .map(|(k, m)| (label(k), m.clone()))
                .collect(),
            errors,
            header_preview,
            header_from_photo: b.header.as_ref().and_then(|h| h.photo_id),
            icon_preview: b.icon.as_ref().map(|i| format!("/media/{}", i.key)),
        },
    )
}

/// `GET /admin/settings`
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    render(&state, &req, &user, None, Errors::default()).await
}

/// An uploaded header image through the photo pipeline (type from the bytes, limits, EXIF
/// orientation, metadata stripped, derivatives made).
fn header_from_upload(state: &AppState, file: &StagedFile) -> Result<branding::BrandImage, String> {
    let bytes = std::fs::read(file.file.path()).map_err(|e| e.to_string())?;
    let settings = process::Settings {
        widths: HEADER_WIDTHS.to_vec(),
        max_bytes: HEADER_LIMIT,
        ..state.config.images.clone()
    };
    let p = process::process_hashed(
        &bytes,
        &file.sha256,
        &file.filename,
        &settings,
        state.media.as_ref(),
    )
    .map_err(|skip| format!("{} could not be used: {skip}", file.filename))?;
    Ok(branding::BrandImage {
        photo_id: None,
        hash: p.content_hash,
        width: p.width.max(1) as u32,
        height: p.height.max(1) as u32,
        widths: p.variants,
    })
}

/// The sides an uploaded icon may have, in pixels (ICO files hold several sizes and are taken
/// as they are).
const ICON_SIDES: (u32, u32) = (32, 512);

/// An uploaded icon: PNG, ICO, JPEG, WebP or GIF (SVG is refused: it can carry script), stored
/// as sent, square and within [`ICON_SIDES`].
fn icon_from_upload(state: &AppState, file: &StagedFile) -> Result<SiteIcon, String> {
    let (mime, ext) = match sniff(&file.head) {
        Some("image/png") => ("image/png", "png"),
        Some("image/jpeg") => ("image/jpeg", "jpg"),
        Some("image/webp") => ("image/webp", "webp"),
        Some("image/gif") => ("image/gif", "gif"),
        _ if file.head.starts_with(&[0, 0, 1, 0]) => ("image/x-icon", "ico"),
        _ => {
            return Err(format!(
                "{} is not a PNG, ICO, JPEG, WebP or GIF image",
                file.filename
            ));
        }
    };
    if mime != "image/x-icon" {
        let bytes = std::fs::read(file.file.path()).map_err(|e| e.to_string())?;
        let limits = process::Settings {
            max_bytes: branding::MAX_ICON_BYTES,
            max_side: 1024,
            ..Default::default()
        };
        let (_, w, h) = process::inspect(&bytes, &limits)
            .map_err(|skip| format!("{} could not be used: {skip}", file.filename))?;
        // Browsers show an icon square: a non-square one is squeezed, a tiny one blurred.
        if w != h {
            return Err(format!(
                "{} is {w}×{h} pixels: an icon must be square",
                file.filename
            ));
        }
        if !(ICON_SIDES.0..=ICON_SIDES.1).contains(&w) {
            return Err(format!(
                "{} is {w}×{h} pixels: an icon must be {} to {} pixels across",
                file.filename, ICON_SIDES.0, ICON_SIDES.1
            ));
        }
    }
    let key = format!("branding/{}/{}.{ext}", &file.sha256[..2], file.sha256);
    state
        .media
        .put_file(&key, file.file.path())
        .map_err(|e| e.to_string())?;
    Ok(SiteIcon {
        key,
        mime: mime.to_string(),
    })
}

/// `POST /admin/settings` (multipart: the header image and icon may be uploaded).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    let staging = state.config.storage.data_dir.join("staging");
    let mut up = upload::read(
        mp,
        &staging,
        &[
            ("header_file", HEADER_LIMIT),
            ("icon_file", branding::MAX_ICON_BYTES),
        ],
    )
    .await?;
    let f = SettingsForm {
        title: up.text("title"),
        tagline: up.text("tagline"),
        accent: up.text("accent"),
        footer: up.text("footer"),
        social: up.text("social"),
        header_photo: up
            .text("header_photo")
            .trim()
            .trim_start_matches('#')
            .to_string(),
    };
    let mut errors = Errors::default();
    let header_file = up.files.remove("header_file");
    let icon_file = up.files.remove("icon_file");
    let remove_header = up.fields.contains_key("remove_header");
    let remove_icon = up.fields.contains_key("remove_icon");
    // The photo that is the header now (the form shows its number).
    let current = state
        .db
        .run(|conn| Ok::<_, cms_core::Error>(branding::load(conn)?))
        .await?
        .header
        .and_then(|h| h.photo_id);
    let st = state.clone();
    let header_photo = f.header_photo.clone();
    let (header, icon, file_errors) = web::block(move || {
        let mut errors = Errors::default();
        let new_photo = !header_photo.is_empty() && photo_number(&header_photo) != current;
        let header = if remove_header && (header_file.is_some() || new_photo) {
            errors.add(
                "header_photo",
                "Choose a new header or remove it, not both.".to_string(),
            );
            HeaderChoice::Keep
        } else if remove_header {
            HeaderChoice::Remove
        } else if let Some(file) = &header_file {
            match header_from_upload(&st, file) {
                Ok(img) => HeaderChoice::Uploaded(img),
                Err(e) => {
                    errors.add("header_file", e);
                    HeaderChoice::Keep
                }
            }
        } else if header_photo.is_empty() {
            HeaderChoice::Keep
        } else {
            match photo_number(&header_photo) {
                Some(id) => HeaderChoice::Photo(id),
                None => {
                    errors.add(
                        "header_photo",
                        format!("“{header_photo}” is not a photo number"),
                    );
                    HeaderChoice::Keep
                }
            }
        };
        let icon = if remove_icon && icon_file.is_some() {
            errors.add(
                "icon_file",
                "Choose a new icon or go back to the default one, not both.".to_string(),
            );
            None
        } else if remove_icon {
            Some(None)
        } else if let Some(file) = &icon_file {
            match icon_from_upload(&st, file) {
                Ok(i) => Some(Some(i)),
                Err(e) => {
                    errors.add("icon_file", e);
                    None
                }
            }
        } else {
            None
        };
        (header, icon, errors)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    for (field, message) in file_errors.all() {
        errors.add(field, message.clone());
    }
    // Choosing the photo that is already the header changes nothing about it.
    let header = match header {
        HeaderChoice::Photo(id) => {
            if current == Some(id) {
                HeaderChoice::Keep
            } else {
                HeaderChoice::Photo(id)
            }
        }
        other => other,
    };
    let input = BrandingInput {
        title: f.title.clone(),
        tagline: f.tagline.clone(),
        accent: f.accent.clone(),
        footer: f.footer.clone(),
        social: f.social.clone(),
        header,
        icon,
    };
    if !errors.is_empty() {
        // The other fields' problems are reported too, all at once.
        let i = input.clone();
        let more = state
            .db
            .run(move |conn| {
                Ok::<_, cms_core::Error>(match branding::check(conn, &i) {
                    Err(cms_core::Error::Fields(f)) => f,
                    _ => Vec::new(),
                })
            })
            .await?;
        for (field, message) in more {
            errors.add(field, message);
        }
        return render(&state, &req, &user, Some(f), errors).await;
    }
    let act = actor(&user.0.user, &req);
    let saved = state
        .db
        .write(move |conn| {
            let b = branding::save(conn, &input)?;
            audit::record(conn, &act, "settings.update", None, &b.title)?;
            Ok::<_, cms_core::Error>(())
        })
        .await;
    match saved {
        Ok(()) => Ok(see_other("/admin/settings?notice=saved")),
        Err(e) => render(&state, &req, &user, Some(f), Errors::from_core(e)?).await,
    }
}

/// A photo's number as an editor gives it: `3`, `#3`, or the photo page's address pasted
/// whole (`/photos/3`, `https://fansite.example/photos/3?size=1280`).
fn photo_number(given: &str) -> Option<i64> {
    let given = given.trim();
    let number = match given.rfind("/photos/") {
        Some(at) => given[at + "/photos/".len()..]
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default(),
        None => given.strip_prefix('#').unwrap_or(given),
    };
    number.parse::<i64>().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::photo_number;

    #[test]
    fn photo_numbers_are_read_as_editors_paste_them() {
        for (given, want) in [
            ("3", Some(3)),
            (" 3 ", Some(3)),
            ("#3", Some(3)),
            ("/photos/3", Some(3)),
            ("/photos/3/", Some(3)),
            ("https://fansite.example/photos/3?size=1280#top", Some(3)),
            ("0", None),
            ("-3", None),
            ("three", None),
            ("/albums/3", None),
            ("/photos/", None),
            ("/photos/x", None),
        ] {
            assert_eq!(photo_number(given), want, "{given:?}");
        }
    }
}
