//! Query strings of the API, read strictly: unknown or repeated parameters and bad values are a
//! 400 problem naming the parameter, never a silent default.

use std::collections::HashMap;

use super::problem::Problem;

/// Items per page when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u64 = 20;
/// The most items a page may hold.
pub const MAX_PER_PAGE: u64 = 100;
/// The highest page number accepted.
const MAX_PAGE: u64 = 1_000_000;

/// The parameters of one request, each given at most once.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `query`, accepting only the names in `allowed`.
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Params, Problem> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(Problem::bad_field(
                    &k,
                    if allowed.is_empty() {
                        "this endpoint takes no query parameters".to_string()
                    } else {
                        format!("unknown parameter; known: {}", allowed.join(", "))
                    },
                ));
            }
            if map.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(Problem::bad_field(&k, "give it only once"));
            }
        }
        Ok(Params(map))
    }

    /// A text parameter, trimmed; `None` when absent. Empty values are refused.
    pub fn text(&self, name: &str, max_chars: usize) -> Result<Option<&str>, Problem> {
        match self.0.get(name).map(|s| s.trim()) {
            None => Ok(None),
            Some("") => Err(Problem::bad_field(name, "must not be empty")),
            Some(s) if s.chars().count() > max_chars => Err(Problem::bad_field(
                name,
                format!("must be at most {max_chars} characters"),
            )),
            Some(s) => Ok(Some(s)),
        }
    }

    /// A parameter parsed with `FromStr`, with the parser's message on failure.
    pub fn parsed<T>(&self, name: &str) -> Result<Option<T>, Problem>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.text(name, 200)? {
            None => Ok(None),
            Some(s) => s
                .parse::<T>()
                .map(Some)
                .map_err(|e| Problem::bad_field(name, e.to_string())),
        }
    }

    /// A whole number from `min` to `max`.
    pub fn number(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, Problem> {
        match self.text(name, 20)? {
            None => Ok(None),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(Problem::bad_field(
                    name,
                    format!("must be a whole number from {min} to {max}, not '{s}'"),
                )),
            },
        }
    }

    /// A date (`2024-08-03`) or a time (`2024-08-03T10:00:00Z`), as UTC.
    pub fn time(&self, name: &str) -> Result<Option<chrono::NaiveDateTime>, Problem> {
        let Some(s) = self.text(name, 40)? else {
            return Ok(None);
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(Some(t.naive_utc()));
        }
        if let Some(d) = crate::input::iso_date(s) {
            return Ok(d.and_hms_opt(0, 0, 0));
        }
        Err(Problem::bad_field(
            name,
            format!("must be a date (2024-08-03) or an RFC 3339 time, not '{s}'"),
        ))
    }
}

/// Which page of a list was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    /// Reads `page` and `per_page`.
    pub fn from_params(p: &Params) -> Result<Paging, Problem> {
        Ok(Paging {
            page: p.number("page", 1, MAX_PAGE)?.unwrap_or(1),
            per_page: p
                .number("per_page", 1, MAX_PER_PAGE)?
                .unwrap_or(DEFAULT_PER_PAGE),
        })
    }

    /// The offset of the first item.
    pub fn offset(&self) -> i64 {
        ((self.page - 1) * self.per_page) as i64
    }

    /// The limit of a query.
    pub fn limit(&self) -> i64 {
        self.per_page as i64
    }

    /// How many pages `total` items fill (at least one).
    pub fn pages(&self, total: i64) -> u64 {
        u64::try_from(total)
            .unwrap_or(0)
            .div_ceil(self.per_page)
            .max(1)
    }

    /// The `Link` header of a list (RFC 8288): first, prev, next and last pages, absolute,
    /// keeping the request's other parameters.
    pub fn link_header(&self, base: &str, path: &str, query: &str, total: i64) -> String {
        let others: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let link = |page: u64, rel: &str| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &others {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            q.append_pair("per_page", &self.per_page.to_string());
            format!("<{base}{path}?{}>; rel=\"{rel}\"", q.finish())
        };
        let last = self.pages(total);
        let mut parts = vec![link(1, "first")];
        if self.page > 1 {
            parts.push(link((self.page - 1).min(last), "prev"));
        }
        if self.page < last {
            parts.push(link(self.page + 1, "next"));
        }
        parts.push(link(last, "last"));
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parameters() {
        let ok = Params::parse("page=2&per_page=50", &["page", "per_page"]).expect("ok");
        assert_eq!(
            Paging::from_params(&ok).expect("paging"),
            Paging {
                page: 2,
                per_page: 50
            }
        );
        for bad in [
            "page=0",
            "page=abc",
            "per_page=101",
            "per_page=0",
            "page=1&page=2",
            "pag=1",
            "page=",
        ] {
            let r = Params::parse(bad, &["page", "per_page"]).and_then(|p| Paging::from_params(&p));
            assert!(r.is_err(), "{bad}");
        }
        let p = Params::parse(
            "from=2024-08-03&to=2024-08-04T10:00:00%2B02:00",
            &["from", "to"],
        )
        .expect("ok");
        assert_eq!(
            p.time("to").expect("time").map(|t| t.to_string()),
            Some("2024-08-04 08:00:00".into())
        );
        assert!(
            Params::parse("from=yesterday", &["from"])
                .expect("ok")
                .time("from")
                .is_err()
        );
    }

    #[test]
    fn links_keep_other_parameters() {
        let p = Paging {
            page: 2,
            per_page: 10,
        };
        let h = p.link_header("https://a.example", "/api/v1/posts", "tag=x&page=2", 35);
        assert!(
            h.contains("<https://a.example/api/v1/posts?tag=x&page=1&per_page=10>; rel=\"first\"")
        );
        assert!(h.contains("page=3&per_page=10>; rel=\"next\""));
        assert!(h.contains("page=4&per_page=10>; rel=\"last\""));
    }
}
