//! URL slugs: lower-case ASCII letters, digits and single hyphens, transliterated from any
//! script ("S02E06 – Truth / Dare" → "s02e06-truth-dare", "Café" → "cafe").

use crate::error::{Error, Result};

/// The longest slug we make or accept.
pub const MAX_LEN: usize = 120;

/// Makes a slug from a title. Never empty: a title with nothing to keep gives `untitled`.
pub fn slugify(title: &str) -> String {
    let ascii = deunicode::deunicode(title);
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if (c == '\'' || c == '’') && !out.is_empty() {
            // "Heartstopper's" → "heartstoppers", not "heartstopper-s".
            continue;
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut s = out.trim_end_matches('-').to_string();
    if s.len() > MAX_LEN {
        s.truncate(MAX_LEN);
        s = s.trim_end_matches('-').to_string();
    }
    if s.is_empty() { "untitled".into() } else { s }
}

/// Checks a slug typed by an editor.
pub fn validate(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "slug",
            "use lower-case letters, digits and single hyphens, e.g. season-2-captures",
        ))
    }
}

/// The first of `base`, `base-2`, `base-3`, … for which `taken` says no.
pub fn unique(base: &str, mut taken: impl FnMut(&str) -> Result<bool>) -> Result<String> {
    if !taken(base)? {
        return Ok(base.to_string());
    }
    for n in 2..10_000 {
        let candidate = format!("{base}-{n}");
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    Err(Error::Conflict(format!("no free slug near '{base}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_titles() {
        assert_eq!(slugify("S02E01 – Out"), "s02e01-out");
        assert_eq!(slugify("S02E06 – Truth / Dare"), "s02e06-truth-dare");
        assert_eq!(
            slugify(
                "Kit Connor & Joe Locke Explain What Made Heartstopper's Milkshakes Disgusting"
            ),
            "kit-connor-joe-locke-explain-what-made-heartstoppers-milkshakes-disgusting"
        );
        assert_eq!(
            slugify("Netflix Unveils 'Heartstopper' Season Two Premiere Date"),
            "netflix-unveils-heartstopper-season-two-premiere-date"
        );
        assert_eq!(slugify("Café Zoë"), "cafe-zoe");
        assert_eq!(slugify("–––"), "untitled");
    }

    #[test]
    fn validation() {
        assert!(validate("season-2").is_ok());
        assert!(validate("Season-2").is_err());
        assert!(validate("a--b").is_err());
        assert!(validate("-a").is_err());
        assert!(validate("").is_err());
    }

    #[test]
    fn unique_appends_a_number() {
        let taken = ["a", "a-2"];
        let s = unique("a", |c| Ok(taken.contains(&c))).expect("free");
        assert_eq!(s, "a-3");
    }
}
