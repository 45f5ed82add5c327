//! The site's look as its owner sets it in Settings: title, tagline, header image, accent colour,
//! footer text, social links and icon. Stored as settings rows, read once per content version
//! (through the snapshot) and checked here, so every way in — the admin form, the demo, a
//! restored backup — is held to the same rules.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::error::{Error, Result};
use crate::models::{photo, site};
use crate::schema::settings;

/// The accent colour when none is set.
pub const DEFAULT_ACCENT: &str = "#8a1c4a";
/// The lowest contrast the accent may have against the page (WCAG AA for body text): links
/// and button labels are drawn in it, or on it.
pub const MIN_CONTRAST: f64 = 4.5;
/// The most social links shown.
pub const MAX_SOCIAL_LINKS: usize = 12;
/// The largest icon file accepted.
pub const MAX_ICON_BYTES: u64 = 256 * 1024;

const TITLE: &str = "site_title";
const TAGLINE: &str = "site_tagline";
const HEADER: &str = "header_image";
const ACCENT: &str = "accent_color";
const FOOTER: &str = "footer_text";
const SOCIAL: &str = "social_links";
const ICON: &str = "site_icon";

/// An image the site shows as its header: a gallery photo, or one uploaded in Settings (its
/// files made by the photo pipeline, under the same content-addressed keys).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrandImage {
    /// The gallery photo it is, when chosen from the gallery (its files are the photo's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_id: Option<i64>,
    pub hash: String,
    pub width: u32,
    pub height: u32,
    /// Derivative widths, smallest first.
    pub widths: Vec<u32>,
}

/// A link to the site's account elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialLink {
    pub url: String,
    /// The service's name ("Instagram"), or the host.
    pub label: String,
}

/// The site icon: a file in the media store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteIcon {
    pub key: String,
    pub mime: String,
}

/// Everything the owner sets about the site's look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub title: String,
    pub tagline: String,
    pub header: Option<BrandImage>,
    /// `#rrggbb`, lower case; `None` is the default.
    pub accent: Option<String>,
    /// Plain text; line breaks kept.
    pub footer: String,
    pub social: Vec<SocialLink>,
    pub icon: Option<SiteIcon>,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            title: "Keepsake".into(),
            tagline: String::new(),
            header: None,
            accent: None,
            footer: String::new(),
            social: Vec::new(),
            icon: None,
        }
    }
}

impl Branding {
    /// The accent colour in use.
    pub fn accent_or_default(&self) -> &str {
        self.accent.as_deref().unwrap_or(DEFAULT_ACCENT)
    }

    /// The social links as the owner typed them, one per line (for the form).
    pub fn social_text(&self) -> String {
        self.social
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads the branding (one query for the settings, one more for a gallery header photo). A
/// header photo that was deleted or whose album is no longer published is not shown.
pub fn load(conn: &mut crate::DbConn) -> QueryResult<Branding> {
    let rows: HashMap<String, String> = settings::table
        .filter(settings::key.eq_any([TITLE, TAGLINE, HEADER, ACCENT, FOOTER, SOCIAL, ICON]))
        .select((settings::key, settings::value))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let text = |k: &str| rows.get(k).cloned().unwrap_or_default();
    let mut header: Option<BrandImage> =
        rows.get(HEADER).and_then(|v| serde_json::from_str(v).ok());
    if let Some(id) = header.as_ref().and_then(|h| h.photo_id) {
        header = photo::find_published(conn, id)?.map(|(p, _)| image_of_photo(&p));
    }
    Ok(Branding {
        title: rows
            .get(TITLE)
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "Keepsake".into()),
        tagline: text(TAGLINE),
        header,
        accent: rows
            .get(ACCENT)
            .and_then(|a| parse_accent(a).ok().flatten()),
        footer: text(FOOTER),
        // Stored links were checked when saved; one that no longer parses is left out.
        social: text(SOCIAL)
            .lines()
            .filter_map(|l| social_link(l).ok().flatten())
            .collect(),
        icon: rows.get(ICON).and_then(|v| serde_json::from_str(v).ok()),
    })
}

/// The header image a gallery photo makes.
pub fn image_of_photo(p: &photo::Photo) -> BrandImage {
    BrandImage {
        photo_id: Some(p.id),
        hash: p.content_hash.clone(),
        width: p.width.max(1) as u32,
        height: p.height.max(1) as u32,
        widths: p.variant_widths(),
    }
}

/// Where the header image comes from, as the owner chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderChoice {
    /// Leave it as it is.
    Keep,
    /// No header image.
    Remove,
    /// This gallery photo (it must be in a published album).
    Photo(i64),
    /// An uploaded image, already through the photo pipeline.
    Uploaded(BrandImage),
}

/// What the Settings form sends.
#[derive(Debug, Clone)]
pub struct BrandingInput {
    pub title: String,
    pub tagline: String,
    pub accent: String,
    pub footer: String,
    pub social: String,
    pub header: HeaderChoice,
    /// `Some(None)` removes the icon, `Some(Some(_))` sets it, `None` keeps it.
    pub icon: Option<Option<SiteIcon>>,
}

/// What the form sends, checked.
#[derive(Debug, Clone)]
pub struct Checked {
    title: String,
    tagline: String,
    footer: String,
    accent: Option<String>,
    social: Vec<SocialLink>,
    /// `None` keeps the header; `Some(None)` removes it.
    header: Option<Option<BrandImage>>,
}

/// Checks every field the form sends and reports every problem at once (`Error::Fields`), so
/// the owner fixes them in one go.
pub fn check(conn: &mut crate::DbConn, input: &BrandingInput) -> Result<Checked> {
    let mut problems: Vec<(&'static str, String)> = Vec::new();
    let mut note = |r: Result<()>| {
        if let Err(Error::Invalid { field, message }) = r {
            problems.push((field, message));
        }
    };
    let title = input.title.trim().to_string();
    if title.is_empty() {
        note(Err(Error::invalid("title", "give the site a title")));
    }
    note(check_length("title", &title, 120));
    let tagline = input.tagline.trim().to_string();
    note(check_length("tagline", &tagline, 200));
    let footer = input.footer.trim().replace("\r\n", "\n");
    note(check_length("footer", &footer, 1000));
    let accent = parse_accent(&input.accent).unwrap_or_else(|e| {
        note(Err(e));
        None
    });
    let social = parse_social(&input.social).unwrap_or_else(|e| {
        note(Err(e));
        Vec::new()
    });
    let header = match &input.header {
        HeaderChoice::Keep => None,
        HeaderChoice::Remove => Some(None),
        HeaderChoice::Photo(id) => match photo::find_published(conn, *id)? {
            Some((p, _)) => Some(Some(image_of_photo(&p))),
            None => {
                let why = if photo::find(conn, *id)?.is_some() {
                    format!("photo {id} is not in a published album, so readers could not see it")
                } else {
                    format!("there is no photo {id}")
                };
                note(Err(Error::invalid("header_photo", why)));
                None
            }
        },
        HeaderChoice::Uploaded(img) => Some(Some(img.clone())),
    };
    if !problems.is_empty() {
        return Err(Error::Fields(problems));
    }
    Ok(Checked {
        title,
        tagline,
        footer,
        accent,
        social,
        header,
    })
}

/// Checks and stores the branding, then bumps the content version so every page shows it at
/// once. Nothing is stored when any field is refused.
pub fn save(conn: &mut crate::DbConn, input: &BrandingInput) -> Result<Branding> {
    let Checked {
        title,
        tagline,
        footer,
        accent,
        social,
        header,
    } = check(conn, input)?;
    site::set_setting(conn, TITLE, &title)?;
    site::set_setting(conn, TAGLINE, &tagline)?;
    site::set_setting(conn, FOOTER, &footer)?;
    site::set_setting(conn, ACCENT, accent.as_deref().unwrap_or(""))?;
    site::set_setting(
        conn,
        SOCIAL,
        &social
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    )?;
    match header {
        None => {}
        Some(None) => site::set_setting(conn, HEADER, "")?,
        Some(Some(img)) => site::set_setting(conn, HEADER, &to_json(&img)?)?,
    }
    match &input.icon {
        None => {}
        Some(None) => site::set_setting(conn, ICON, "")?,
        Some(Some(icon)) => site::set_setting(conn, ICON, &to_json(icon)?)?,
    }
    site::bump_content_version(conn)?;
    Ok(load(conn)?)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

fn check_length(field: &'static str, text: &str, max: usize) -> Result<()> {
    let n = text.chars().count();
    if n > max {
        return Err(Error::invalid(
            field,
            format!("keep it to {max} characters (this is {n})"),
        ));
    }
    Ok(())
}

/// `#rgb` or `#rrggbb` (the `#` optional) as `#rrggbb`; empty is the default. A colour too
/// light to read as link text on the page is refused, with its contrast.
pub fn parse_accent(text: &str) -> Result<Option<String>> {
    let t = text.trim().trim_start_matches('#').to_ascii_lowercase();
    if t.is_empty() {
        return Ok(None);
    }
    let hex = match t.len() {
        3 if t.chars().all(|c| c.is_ascii_hexdigit()) => t.chars().flat_map(|c| [c, c]).collect(),
        6 if t.chars().all(|c| c.is_ascii_hexdigit()) => t,
        _ => {
            return Err(Error::invalid(
                "accent",
                "give a colour as #rrggbb, for example #8a1c4a",
            ));
        }
    };
    let ratio = contrast_with_white(&hex);
    if ratio < MIN_CONTRAST {
        return Err(Error::invalid(
            "accent",
            format!(
                "#{hex} is too light for links and buttons on a white page (contrast {ratio:.1}:1, at least {MIN_CONTRAST}:1 is needed); choose a darker shade"
            ),
        ));
    }
    let accent = format!("#{hex}");
    Ok((accent != DEFAULT_ACCENT).then_some(accent))
}

/// WCAG contrast ratio of `rrggbb` against white.
fn contrast_with_white(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (l + 0.05)
}

/// One `http(s)` address per line (`https://` is assumed when a line starts with a host name);
/// blank lines skipped; every bad line named.
pub fn parse_social(text: &str) -> Result<Vec<SocialLink>> {
    let mut links = Vec::new();
    let mut bad = Vec::new();
    for line in text.lines() {
        match social_link(line) {
            Ok(Some(link)) => {
                if !links.iter().any(|l: &SocialLink| l.url == link.url) {
                    links.push(link);
                }
            }
            Ok(None) => {}
            Err(Error::Invalid { message, .. }) => bad.push(message),
            Err(other) => return Err(other),
        }
    }
    if !bad.is_empty() {
        return Err(Error::invalid("social", bad.join("; ")));
    }
    if links.len() > MAX_SOCIAL_LINKS {
        return Err(Error::invalid(
            "social",
            format!("give at most {MAX_SOCIAL_LINKS} links"),
        ));
    }
    Ok(links)
}

fn social_link(line: &str) -> Result<Option<SocialLink>> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let bad = || {
        Error::invalid(
            "social",
            format!("“{line}” is not a web address (https://…)"),
        )
    };
    let url = match url::Url::parse(line) {
        Ok(u) => u,
        // "instagram.com/name": a host name and a path, the scheme left out.
        Err(url::ParseError::RelativeUrlWithoutBase)
            if !line.contains(char::is_whitespace)
                && line.split('/').next().is_some_and(|h| h.contains('.')) =>
        {
            url::Url::parse(&format!("https://{line}")).map_err(|_| bad())?
        }
        Err(_) => return Err(bad()),
    };
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(bad());
    }
    let host = url.host_str().ok_or_else(bad)?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let label = match host.as_str() {
        "instagram.com" => "Instagram",
        "twitter.com" | "x.com" => "X",
        "tiktok.com" => "TikTok",
        "youtube.com" | "youtu.be" | "m.youtube.com" => "YouTube",
        "facebook.com" => "Facebook",
        "bsky.app" => "Bluesky",
        "threads.net" | "threads.com" => "Threads",
        "pinterest.com" => "Pinterest",
        "discord.gg" | "discord.com" => "Discord",
        h if h.ends_with(".tumblr.com") || h == "tumblr.com" => "Tumblr",
        h => h,
    }
    .to_string();
    Ok(Some(SocialLink {
        url: url.to_string(),
        label,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_normalised_and_light_ones_refused() {
        assert_eq!(parse_accent("").expect("accepted"), None);
        assert_eq!(
            parse_accent("#8A1C4A").expect("accepted"),
            None,
            "the default is stored as none"
        );
        assert_eq!(
            parse_accent("1a4f8b").expect("accepted").as_deref(),
            Some("#1a4f8b")
        );
        assert_eq!(
            parse_accent("#036").expect("accepted").as_deref(),
            Some("#003366")
        );
        let e = parse_accent("#ffeb3b").expect_err("refused").to_string();
        assert!(e.contains("too light") && e.contains(":1"), "{e}");
        assert!(parse_accent("red").is_err());
        assert!(parse_accent("#12345").is_err());
        assert!(parse_accent("#12345g").is_err());
    }

    #[test]
    fn social_links_are_web_addresses_with_a_name() {
        let links = parse_social(
            "https://www.instagram.com/kitconnorarchive\n\n https://x.com/kcarchive \nhttps://kitconnor.tumblr.com/\nhttps://fans.example/",
        )
        .expect("accepted");
        let labels: Vec<_> = links.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["Instagram", "X", "Tumblr", "fans.example"]);
        assert!(parse_social("javascript:alert(1)").is_err());
        assert_eq!(
            parse_social("www.instagram.com/me").expect("a host without https://")[0].url,
            "https://www.instagram.com/me"
        );
        let both = parse_social("not a url\nftp://x.example/\nhttps://ok.example/")
            .expect_err("two bad lines")
            .to_string();
        assert!(
            both.contains("“not a url”") && both.contains("“ftp://x.example/”"),
            "{both}"
        );
        assert!(parse_social("https://user:pw@example.com/").is_err());
        let many = (0..13)
            .map(|i| format!("https://e{i}.example/\n"))
            .collect::<String>();
        assert!(parse_social(&many).is_err());
    }
}
