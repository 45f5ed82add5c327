//! Video embeds from allow-listed providers only, reduced to a provider and a well-formed id so
//! nothing an editor pastes reaches the page as a URL; the player uses privacy-respecting hosts.

use crate::error::{Error, Result};

/// A video on an allowed provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embed {
    YouTube(String),
    Vimeo(String),
}

impl Embed {
    /// Parses a YouTube or Vimeo watch, share or embed URL.
    pub fn parse(raw: &str) -> Result<Embed> {
        let bad = || {
            Error::invalid(
                "embed_url",
                "use a YouTube (youtube.com/watch?v=…, youtu.be/…) or Vimeo (vimeo.com/123…) link",
            )
        };
        let u = url::Url::parse(raw.trim()).map_err(|_| bad())?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(bad());
        }
        let host = u
            .host_str()
            .unwrap_or_default()
            .trim_start_matches("www.")
            .trim_start_matches("m.");
        let segments: Vec<&str> = u
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let yt_id = |id: &str| {
            (id.len() == 11
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| Embed::YouTube(id.to_string()))
        };
        let found = match host {
            "youtube.com" | "youtube-nocookie.com" => match segments.as_slice() {
                ["watch"] => u
                    .query_pairs()
                    .find(|(k, _)| k == "v")
                    .and_then(|(_, v)| yt_id(&v)),
                ["embed", id] | ["shorts", id] | ["live", id] | ["v", id] => yt_id(id),
                _ => None,
            },
            "youtu.be" => match segments.as_slice() {
                [id] => yt_id(id),
                _ => None,
            },
            "vimeo.com" | "player.vimeo.com" => segments
                .iter()
                .rev()
                .find(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .filter(|s| (1..=12).contains(&s.len()))
                .map(|s| Embed::Vimeo(s.to_string())),
            _ => None,
        };
        found.ok_or_else(bad)
    }

    /// The player URL: youtube-nocookie.com, and Vimeo with Do-Not-Track.
    pub fn player_url(&self) -> String {
        match self {
            Embed::YouTube(id) => format!("https://www.youtube-nocookie.com/embed/{id}"),
            Embed::Vimeo(id) => format!("https://player.vimeo.com/video/{id}?dnt=1"),
        }
    }

    /// The player URL starting at `seconds` and playing at once (a reader chose a time code).
    pub fn player_url_at(&self, seconds: u32) -> String {
        match self {
            Embed::YouTube(id) => {
                format!("https://www.youtube-nocookie.com/embed/{id}?start={seconds}&autoplay=1")
            }
            Embed::Vimeo(id) => {
                format!("https://player.vimeo.com/video/{id}?dnt=1&autoplay=1#t={seconds}s")
            }
        }
    }

    /// The video's page on the provider's site.
    pub fn watch_url(&self) -> String {
        match self {
            Embed::YouTube(id) => format!("https://www.youtube.com/watch?v={id}"),
            Embed::Vimeo(id) => format!("https://vimeo.com/{id}"),
        }
    }

    /// The video's page on the provider's site, starting at `seconds`.
    pub fn watch_url_at(&self, seconds: u32) -> String {
        match self {
            Embed::YouTube(id) => format!("https://www.youtube.com/watch?v={id}&t={seconds}s"),
            Embed::Vimeo(id) => format!("https://vimeo.com/{id}#t={seconds}s"),
        }
    }

    /// The provider's name, for the consent notice.
    pub fn provider(&self) -> &'static str {
        match self {
            Embed::YouTube(_) => "YouTube",
            Embed::Vimeo(_) => "Vimeo",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_urls() {
        assert_eq!(
            Embed::parse("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1").ok(),
            Some(Embed::YouTube("dQw4w9WgXcQ".into()))
        );
        assert_eq!(
            Embed::parse("https://youtu.be/dQw4w9WgXcQ").ok(),
            Some(Embed::YouTube("dQw4w9WgXcQ".into()))
        );
        assert_eq!(
            Embed::parse("https://vimeo.com/76979871").ok(),
            Some(Embed::Vimeo("76979871".into()))
        );
    }

    #[test]
    fn refused_urls() {
        for u in [
            "https://evil.example/watch?v=dQw4w9WgXcQ",
            "javascript:alert(1)",
            "https://www.youtube.com/watch?v=short",
            "https://www.youtube.com/watch?v=dQw4w9WgXc\"",
            "https://youtube.com.evil.example/embed/dQw4w9WgXcQ",
        ] {
            assert!(Embed::parse(u).is_err(), "{u}");
        }
    }
}
