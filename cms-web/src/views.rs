//! View models: ready-made values for templates, built from core models. Templates never
//! query and never format.

use chrono::{NaiveDate, NaiveDateTime};

/// "3 August 2023".
pub fn long_date(t: NaiveDateTime) -> String {
    t.format("%-d %B %Y").to_string()
}

/// "3 August 2023" for a date.
pub fn long_day(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// `2023-08-03T10:00:00Z` for `<time datetime>` and feeds.
pub fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A count with its noun for templates (which pass references): `1 photo`, `7,675 photos`.
pub fn counted(n: impl std::borrow::Borrow<i64>, one: &str, many: &str) -> String {
    cms_core::units::counted(*n.borrow(), one, many)
}

/// A number with its thousands grouped, for templates: `1,158`.
pub fn grouped(n: impl std::borrow::Borrow<i64>) -> String {
    cms_core::units::grouped(*n.borrow())
}

pub use cms_core::thumbs::{Thumb, media_url, srcset};

/// One entry of a pager's numbered links: a page, or a gap ("…") between far-apart pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageLink {
    Page {
        number: u64,
        href: String,
        current: bool,
    },
    Gap,
}

/// Links to the pages of a paginated list: previous and next (`rel`), first and last, the pages
/// around the current one, and a jump to any page (a plain GET form, so it works without
/// JavaScript).
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub links: Vec<PageLink>,
    /// The jump form's action (the path without its query) and the query's other fields.
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

/// Pages shown on each side of the current one.
const PAGER_SPAN: u64 = 2;

impl Pager {
    /// A pager for `path` (which may carry a query already) at `page` of `pages`.
    pub fn new(path: &str, page: u64, pages: u64) -> Pager {
        let sep = if path.contains('?') { '&' } else { '?' };
        let link = |p: u64| {
            if p == 1 {
                path.to_string()
            } else {
                format!("{path}{sep}page={p}")
            }
        };
        // First, last, and the pages around this one; a gap of a single page is shown as that
        // page rather than as "…".
        let mut shown: Vec<u64> = vec![1, pages];
        shown.extend(page.saturating_sub(PAGER_SPAN).max(1)..=(page + PAGER_SPAN).min(pages));
        shown.sort_unstable();
        shown.dedup();
        shown.retain(|&n| n >= 1);
        let mut links = Vec::new();
        let mut prev_shown = 0;
        for n in shown {
            if n == prev_shown + 2 {
                links.push(PageLink::Page {
                    number: n - 1,
                    href: link(n - 1),
                    current: false,
                });
            } else if n > prev_shown + 2 {
                links.push(PageLink::Gap);
            }
            links.push(PageLink::Page {
                number: n,
                href: link(n),
                current: n == page,
            });
            prev_shown = n;
        }
        let (action, query) = path.split_once('?').unwrap_or((path, ""));
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            links,
            action: action.to_string(),
            hidden: url::form_urlencoded::parse(query.as_bytes())
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(p: &Pager) -> String {
        p.links
            .iter()
            .map(|l| match l {
                PageLink::Page {
                    number,
                    current: true,
                    ..
                } => format!("[{number}]"),
                PageLink::Page { number, .. } => number.to_string(),
                PageLink::Gap => "…".into(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn pagers_show_first_last_and_the_pages_around() {
        assert_eq!(numbers(&Pager::new("/a", 1, 1)), "[1]");
        assert_eq!(numbers(&Pager::new("/a", 1, 20)), "[1] 2 3 … 20");
        assert_eq!(numbers(&Pager::new("/a", 5, 20)), "1 2 3 4 [5] 6 7 … 20");
        assert_eq!(
            numbers(&Pager::new("/a", 10, 20)),
            "1 … 8 9 [10] 11 12 … 20"
        );
        assert_eq!(numbers(&Pager::new("/a", 20, 20)), "1 … 18 19 [20]");
        assert_eq!(numbers(&Pager::new("/a", 3, 5)), "1 2 [3] 4 5");
        let p = Pager::new("/search?q=kit&kind=photo", 2, 3);
        assert_eq!(p.action, "/search");
        assert_eq!(
            p.hidden,
            [
                ("q".to_string(), "kit".to_string()),
                ("kind".to_string(), "photo".to_string())
            ]
        );
        assert_eq!(p.prev.as_deref(), Some("/search?q=kit&kind=photo"));
        assert_eq!(p.next.as_deref(), Some("/search?q=kit&kind=photo&page=3"));
        // A million pages cost as much as five.
        assert_eq!(
            numbers(&Pager::new("/a", 500_000, 1_000_000))
                .split(' ')
                .count(),
            9
        );
    }
}
