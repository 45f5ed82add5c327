//! Posters for embedded videos: when an editor embeds a YouTube or Vimeo video and gives it no
//! poster, the provider's own thumbnail is fetched once, at save time, and kept in the media
//! store like an uploaded poster — so the video page shows it before the reader chooses to
//! load the provider (no request to the provider from readers' browsers), and `thumbnailUrl`
//! and `og:image` exist. Fetched through [`crate::import::fetch::Fetcher`]: public addresses
//! only, a size limit, a time limit.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::embed::Embed;
use crate::import::fetch::Fetcher;
use crate::media::MediaStore;

/// The largest thumbnail taken.
const MAX_BYTES: u64 = 5 << 20;

/// Where the providers' thumbnails are: YouTube's image host, Vimeo's oEmbed endpoint.
#[derive(Debug, Clone)]
pub struct Providers {
    /// `https://i.ytimg.com`: `/vi/{id}/maxresdefault.jpg`, else `hqdefault.jpg`.
    pub youtube_images: String,
    /// `https://vimeo.com/api/oembed.json`, asked for the video's `thumbnail_url`.
    pub vimeo_oembed: String,
}

impl Default for Providers {
    fn default() -> Providers {
        Providers {
            youtube_images: "https://i.ytimg.com".into(),
            vimeo_oembed: "https://vimeo.com/api/oembed.json".into(),
        }
    }
}

/// The fetcher posters use: public addresses only (unless `allow_private`, for tests against
/// a stand-in on loopback), 5 MB, 8 seconds a file — an editor is waiting.
pub fn fetcher(allow_private: bool) -> Fetcher {
    Fetcher::with_limits(
        allow_private,
        MAX_BYTES,
        Duration::from_secs(8),
        "video poster",
    )
}

/// True when a save should fetch a poster: an embed is set and is new or changed, and the
/// video has no poster (an editor who removed the fetched one keeps it removed).
pub fn wanted(embed_url: Option<&str>, before: Option<&str>, poster_key: Option<&str>) -> bool {
    let now = embed_url.map(str::trim).filter(|u| !u.is_empty());
    poster_key.is_none() && now.is_some() && now != before.map(str::trim)
}

/// Fetches the provider's thumbnail for `embed_url` and stores it as a poster: its media key.
pub fn fetch(
    embed_url: &str,
    providers: &Providers,
    fetcher: &Fetcher,
    media: &dyn MediaStore,
) -> Result<String, String> {
    let embed =
        Embed::parse(embed_url).map_err(|_| "not a YouTube or Vimeo address".to_string())?;
    let bytes = match &embed {
        Embed::YouTube(id) => {
            let base = providers.youtube_images.trim_end_matches('/');
            // The largest exists for HD uploads only; the smaller one always.
            fetcher
                .get(&format!("{base}/vi/{id}/maxresdefault.jpg"))
                .or_else(|_| fetcher.get(&format!("{base}/vi/{id}/hqdefault.jpg")))?
        }
        Embed::Vimeo(id) => {
            let asked = url::Url::parse_with_params(
                &providers.vimeo_oembed,
                &[
                    ("url", format!("https://vimeo.com/{id}")),
                    ("width", "1280".to_string()),
                ],
            )
            .map_err(|e| format!("the oEmbed address: {e}"))?;
            let answer = fetcher.get(asked.as_str())?;
            let json: serde_json::Value = serde_json::from_slice(&answer)
                .map_err(|_| "Vimeo's answer is not JSON".to_string())?;
            let thumb = json["thumbnail_url"]
                .as_str()
                .ok_or("Vimeo's answer names no thumbnail")?;
            fetcher.get(thumb)?
        }
    };
    let ext = match image::guess_format(&bytes) {
        Ok(image::ImageFormat::Jpeg) => "jpg",
        Ok(image::ImageFormat::Png) => "png",
        Ok(image::ImageFormat::WebP) => "webp",
        _ => {
            return Err(format!(
                "{} sent something that is not an image",
                embed.provider()
            ));
        }
    };
    // A whole image, not a truncated or hostile one.
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8_000);
    limits.max_image_height = Some(8_000);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| format!("{}'s thumbnail cannot be read ({e})", embed.provider()))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let key = format!("posters/{}/{hash}.{ext}", &hash[..2]);
    media.put(&key, &bytes).map_err(|e| e.to_string())?;
    Ok(key)
}

/// [`fetch`] from the real providers, off the async threads: the new poster's key, or why not.
pub async fn fetch_for(state: &crate::AppState, embed_url: String) -> Result<String, String> {
    let media = state.media.clone();
    tokio::task::spawn_blocking(move || {
        fetch(
            &embed_url,
            &Providers::default(),
            &fetcher(false),
            media.as_ref(),
        )
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn a_poster_is_fetched_for_a_new_embed_without_one() {
        let yt = Some("https://youtu.be/dQw4w9WgXcQ");
        assert!(wanted(yt, None, None), "a new embed");
        assert!(
            wanted(yt, Some("https://vimeo.com/1"), None),
            "a changed embed"
        );
        assert!(
            !wanted(yt, yt, None),
            "the same embed: a removed poster stays removed"
        );
        assert!(
            !wanted(yt, None, Some("posters/ab/x.jpg")),
            "a poster is there"
        );
        assert!(!wanted(None, None, None), "no embed");
        assert!(!wanted(Some("  "), None, None), "an empty field");
    }
}
