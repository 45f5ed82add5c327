//! What every page shares: the site's name, the stylesheet's hashed URL, the page title,
//! the canonical link and the active navigation item.

use std::sync::OnceLock;

use cms_core::DbConn;
use cms_core::models::site;

/// The stylesheet, embedded in the binary and served under a name that carries its hash, so
/// it can be cached forever and still change with a release.
pub const STYLESHEET: &str = include_str!("../static/style.css");

/// `/static/style.<hash>.css`.
pub fn stylesheet_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        // A stable 64-bit FNV-1a: the name only needs to change when the bytes do.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in STYLESHEET.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("/static/style.{:012x}.css", h & 0xffff_ffff_ffff)
    })
}

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
}

impl Site {
    /// Reads the site settings.
    pub fn load(conn: &mut DbConn) -> diesel::QueryResult<Site> {
        Ok(Site {
            title: site::setting(conn, "site_title")?.unwrap_or_else(|| "Keepsake".into()),
        })
    }
}

/// The layout fields of a page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub site_title: String,
    pub page_title: String,
    pub css_href: &'static str,
    pub canonical: String,
    pub description: String,
    pub section: Section,
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
        Layout {
            site_title: site.title.clone(),
            page_title: page_title.to_string(),
            css_href: stylesheet_href(),
            canonical: format!("{base_url}{path}"),
            description: String::new(),
            section,
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
