//! What every page shares: the site's name, the stylesheet's hashed URL, the page title,
//! the canonical link and the active navigation item.

use std::sync::OnceLock;

use std::sync::Arc;

use cms_core::branding::{BrandImage, Branding, SocialLink};
use cms_core::media::photo_variant_key;
use cms_core::snapshot::Snapshot;

use crate::views::{media_url, srcset};

/// A file built into the binary and served under a name carrying a hash of its bytes, so it
/// can be cached forever and still change with a release.
#[derive(Debug)]
pub struct Asset {
    pub stem: &'static str,
    pub ext: &'static str,
    pub mime: &'static str,
    pub bytes: &'static str,
    href: OnceLock<String>,
}

impl Asset {
    const fn new(
        stem: &'static str,
        ext: &'static str,
        mime: &'static str,
        bytes: &'static str,
    ) -> Self {
        Asset {
            stem,
            ext,
            mime,
            bytes,
            href: OnceLock::new(),
        }
    }

    /// `/static/{stem}.{hash}.{ext}`.
    pub fn href(&self) -> &str {
        self.href.get_or_init(|| {
            // FNV-1a: stable across builds and platforms; the name only has to change when the
            // bytes do.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in self.bytes.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!(
                "/static/{}.{:012x}.{}",
                self.stem,
                h & 0xffff_ffff_ffff,
                self.ext
            )
        })
    }
}

/// The stylesheet.
pub static STYLESHEET: Asset = Asset::new(
    "style",
    "css",
    "text/css; charset=utf-8",
    include_str!("../static/style.css"),
);
/// The site icon.
pub static ICON: Asset = Asset::new(
    "icon",
    "svg",
    "image/svg+xml",
    include_str!("../static/icon.svg"),
);
/// The optional script: photo keys and swipes, transcript time codes (`static/site.js`).
pub static SCRIPT: Asset = Asset::new(
    "site",
    "js",
    "text/javascript; charset=utf-8",
    include_str!("../static/site.js"),
);
/// Every static asset.
pub static ASSETS: [&Asset; 3] = [&STYLESHEET, &ICON, &SCRIPT];

/// Navigation sections.
#[allow(dead_code)] // Videos, Search and Subscribe pages arrive with the public-site issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    News,
    Gallery,
    Videos,
    Search,
    Subscribe,
    None,
}

/// Site-wide facts read once per request.
#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    pub brand: Arc<Branding>,
}

impl Site {
    /// The site settings of a snapshot.
    pub fn of(snap: &Snapshot) -> Site {
        Site {
            title: snap.site_title.clone(),
            brand: snap.branding.clone(),
        }
    }
}

/// The header image, sized for the full width of the page.
#[derive(Debug, Clone)]
pub struct Banner {
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
}

impl Banner {
    fn of(img: &BrandImage) -> Option<Banner> {
        let largest = *img.widths.last()?;
        let srcset = srcset(&img.hash, &img.widths);
        Some(Banner {
            src: media_url(&photo_variant_key(&img.hash, largest)),
            srcset,
            width: largest,
            height: (u64::from(largest) * u64::from(img.height.max(1))
                / u64::from(img.width.max(1))) as u32,
        })
    }
}

/// A `<link rel="alternate">` to a feed.
#[derive(Debug, Clone)]
pub struct FeedLink {
    pub title: String,
    pub href: String,
    pub mime: &'static str,
}

/// The layout fields of a page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub site_title: String,
    pub tagline: String,
    /// `--accent:#rrggbb` when the owner chose a colour (a style attribute: the page policy
    /// allows no inline style element).
    pub accent_style: String,
    pub banner: Option<Banner>,
    /// The home page draws the banner taller.
    pub is_home: bool,
    /// The footer text, line by line.
    pub footer_lines: Vec<String>,
    pub social: Vec<SocialLink>,
    /// The icon's URL and type.
    pub icon: (String, String),
    pub page_title: String,
    pub css_href: &'static str,
    pub canonical: String,
    pub description: String,
    pub section: Section,
    /// Open Graph type: `website`, `article`, `video.other`.
    pub og_type: &'static str,
    /// Absolute URL of the share image, with its size.
    pub og_image: Option<(String, u32, u32)>,
    /// JSON-LD, already escaped for a `<script>` element.
    pub json_ld: Option<String>,
    pub feeds: Vec<FeedLink>,
    /// The page's script, if it has one (deferred; the page works without it).
    pub script: Option<&'static str>,
    /// Keep search engines off pages that are not content (search results, forms).
    pub noindex: bool,
}

impl Layout {
    /// A page titled `page_title` at `path` (for the canonical link).
    pub fn new(
        site: &Site,
        base_url: &str,
        page_title: &str,
        path: &str,
        section: Section,
    ) -> Self {
        let b = &site.brand;
        Layout {
            site_title: site.title.clone(),
            tagline: b.tagline.clone(),
            accent_style: b
                .accent
                .as_ref()
                .map(|a| format!("--accent:{a}"))
                .unwrap_or_default(),
            banner: b.header.as_ref().and_then(Banner::of),
            is_home: path == "/",
            footer_lines: b
                .footer
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            social: b.social.clone(),
            icon: match &b.icon {
                Some(i) => (media_url(&i.key), i.mime.clone()),
                None => (
                    ICON.href().to_string(),
                    ICON.mime
                        .split(';')
                        .next()
                        .unwrap_or("image/svg+xml")
                        .to_string(),
                ),
            },
            page_title: page_title.to_string(),
            css_href: STYLESHEET.href(),
            canonical: format!("{base_url}{path}"),
            description: String::new(),
            section,
            og_type: "website",
            og_image: None,
            json_ld: None,
            feeds: vec![
                FeedLink {
                    title: format!("{} (Atom)", site.title),
                    href: format!("{base_url}/feed.atom"),
                    mime: "application/atom+xml",
                },
                FeedLink {
                    title: format!("{} (RSS)", site.title),
                    href: format!("{base_url}/feed.rss"),
                    mime: "application/rss+xml",
                },
            ],
            noindex: false,
            script: None,
        }
    }

    /// Sets the JSON-LD of the page from a JSON value, escaped so that no `</script>` (or any
    /// `<`, `>`, `&`) can end the element early.
    /// Absent facts are left out, never written as `null` (which search engines flag).
    pub fn set_json_ld(&mut self, value: &serde_json::Value) {
        fn without_nulls(v: &serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(m) => m
                    .iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), without_nulls(x)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
                serde_json::Value::Array(a) => a.iter().map(without_nulls).collect(),
                other => other.clone(),
            }
        }
        let text = without_nulls(value)
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        self.json_ld = Some(text);
    }

    /// The description, or the site's name when the page has none (for share cards).
    pub fn share_description(&self) -> &str {
        if self.description.is_empty() {
            &self.site_title
        } else {
            &self.description
        }
    }

    /// The `<title>`: page and site, or just the site on the home page.
    pub fn full_title(&self) -> String {
        if self.page_title.is_empty() || self.page_title == self.site_title {
            self.site_title.clone()
        } else {
            format!("{} – {}", self.page_title, self.site_title)
        }
    }

    /// `aria-current` for a navigation link.
    pub fn current(&self, section: &str) -> &'static str {
        let s = match self.section {
            Section::News => "news",
            Section::Gallery => "gallery",
            Section::Videos => "videos",
            Section::Search => "search",
            Section::Subscribe => "subscribe",
            Section::None => "",
        };
        if s == section { "page" } else { "false" }
    }
}
