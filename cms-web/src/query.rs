//! Query-string values readers can mistype: parsed strictly, so `?page=abc` is a 400 with a
//! message rather than a silent default or a 500.

use crate::error::WebError;

/// The largest page number we accept; beyond it a request is nonsense, not a real page.
const MAX_PAGE: u64 = 1_000_000;

/// Reads `?page=N` (1-based). Missing means 1.
pub fn page(query: &str) -> Result<u64, WebError> {
    let mut page = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == "page" {
            if page.is_some() {
                return Err(WebError::BadRequest("give 'page' only once".into()));
            }
            let n: u64 = v.parse().map_err(|_| {
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    WebError::BadRequest(format!("page must be from 1 to {MAX_PAGE}"))
                } else {
                    WebError::BadRequest(format!("page must be a whole number from 1, not '{v}'"))
                }
            })?;
            if n == 0 || n > MAX_PAGE {
                return Err(WebError::BadRequest(format!(
                    "page must be from 1 to {MAX_PAGE}"
                )));
            }
            page = Some(n);
        }
    }
    Ok(page.unwrap_or(1))
}

/// Reads a text parameter given at most once, at most `max_chars` long. Missing means empty.
pub fn text(query: &str, name: &str, max_chars: usize) -> Result<String, WebError> {
    let mut found: Option<String> = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == name {
            if found.is_some() {
                return Err(WebError::BadRequest(format!("give '{name}' only once")));
            }
            if v.chars().count() > max_chars {
                return Err(WebError::BadRequest(format!(
                    "'{name}' must be at most {max_chars} characters"
                )));
            }
            found = Some(v.into_owned());
        }
    }
    Ok(found.unwrap_or_default())
}

/// A page of `total` items `per_page` at a time: the offset, and whether the page exists.
pub fn offset_for(page: u64, per_page: u64, total: i64) -> Result<i64, WebError> {
    let offset = (page - 1) * per_page;
    let total = u64::try_from(total).unwrap_or(0);
    if page > 1 && offset >= total {
        return Err(WebError::NotFound);
    }
    Ok(offset as i64)
}

/// The number of pages needed for `total` items.
pub fn page_count(total: i64, per_page: u64) -> u64 {
    (u64::try_from(total).unwrap_or(0))
        .div_ceil(per_page)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(page("").ok(), Some(1));
        assert_eq!(page("page=3").ok(), Some(3));
        assert!(page("page=abc").is_err());
        assert!(page("page=0").is_err());
        assert!(page("page=-1").is_err());
        assert!(page("page=1&page=2").is_err());
        assert!(offset_for(3, 10, 20).is_err());
        assert_eq!(offset_for(2, 10, 20).ok(), Some(10));
        assert_eq!(offset_for(1, 10, 0).ok(), Some(0));
        assert_eq!(page_count(21, 10), 3);
    }
}
