//! `/videos`, `/videos/{slug}` and its captions.

use cms_core::models::video::VideoInput;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

fn gq() -> VideoInput {
    VideoInput {
        title: "Kit Connor & Joe Locke React To Heartstopper Scenes".into(),
        description: "The pair break down scenes from season one.".into(),
        series: "GQ Action Replay".into(),
        source: "British GQ".into(),
        release_date: chrono::NaiveDate::from_ymd_opt(2023, 2, 13),
        credits: "Starring: Kit Connor, Joe Locke".into(),
        duration_seconds: Some(754),
        embed_url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
        transcript: "WEBVTT\n\n00:00:04.000 --> 00:00:09.500\nHi, I'm Kit <b>Connor</b>.\n\n00:01:05.000 --> 00:01:09.000\nThe rain scene.\n".into(),
        published: true,
        ..VideoInput::default()
    }
}

async fn video_page_asks_before_loading_the_provider(backend: Backend) {
    let env = TestEnv::new(backend);
    let v = env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &gq()));
    let app = env.app().await;
    let page = get(&app, &format!("/videos/{}", v.slug)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.attrs("iframe", "src").is_empty(),
        "nothing loads from YouTube before the reader asks"
    );
    assert_eq!(
        page.attrs(".player-notice a.button", "href"),
        [format!("/videos/{}?player=1#player", v.slug)]
    );
    assert_eq!(
        page.texts(".meta")[0],
        "GQ Action Replay · British GQ · 13 February 2023 · 12:34"
    );
    assert_eq!(page.texts(".cues time"), ["0:04", "1:05"]);
    assert_eq!(
        page.texts(".cue-text")[0],
        "Hi, I'm Kit <b>Connor</b>.",
        "cue text is escaped, not markup"
    );
    assert_eq!(
        page.texts(".credits li"),
        ["Starring: Kit Connor, Joe Locke"]
    );
    let ld = page.texts("script[type='application/ld+json']");
    let json: serde_json::Value = serde_json::from_str(&ld[0]).expect("JSON-LD parses");
    assert_eq!(json["@type"], "VideoObject");
    assert_eq!(json["duration"], "PT754S");
    assert_eq!(json["uploadDate"], "2023-02-13");
    // What the video lacks (no poster, no file) is left out, not written as null.
    assert!(
        !ld[0].contains("null") && json.get("thumbnailUrl").is_none(),
        "{}",
        ld[0]
    );
    let played = get(&app, &format!("/videos/{}?player=1", v.slug)).await;
    assert_eq!(
        played.attrs("iframe", "src"),
        ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"]
    );
    for bad in [
        "player=yes",
        "t=abc",
        "t=-5",
        "t=86401",
        "t=25h",
        "t=1.5",
        "t=1s2m",
        "t=0:99",
        "t=1&t=2",
    ] {
        assert_eq!(
            get(&app, &format!("/videos/{}?{bad}", v.slug)).await.status,
            400,
            "{bad}"
        );
    }
    // Time codes are links that start the provider's player there (loaded: the reader chose).
    assert_eq!(
        page.attrs(".cues a", "href"),
        [
            format!("/videos/{}?player=1&t=4#player", v.slug),
            format!("/videos/{}?player=1&t=65#player", v.slug)
        ]
    );
    assert_eq!(page.attrs(".cues li", "id"), ["cue-1", "cue-2"]);
    let at = get(&app, &format!("/videos/{}?player=1&t=65", v.slug)).await;
    assert_eq!(
        at.attrs("iframe", "src"),
        ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=65&autoplay=1"]
    );
    assert_eq!(at.attrs("meta[name=robots]", "content"), ["noindex"]);
    // Before the player is loaded, a time code carries through the consent notice.
    let asked = get(&app, &format!("/videos/{}?t=65", v.slug)).await;
    assert!(asked.attrs("iframe", "src").is_empty());
    assert_eq!(
        asked.attrs(".player-notice a.button", "href"),
        [format!("/videos/{}?player=1&t=65#player", v.slug)]
    );
    // …and through the link to the provider's own page.
    assert_eq!(
        asked.attrs(".player-notice a[rel~=noopener]", "href"),
        ["https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=65s"]
    );
    // Times as people paste them from YouTube or write them: 1m5s, 1:05.
    for t in ["1m5s", "1:05", "65s"] {
        let same = get(&app, &format!("/videos/{}?player=1&t={t}", v.slug)).await;
        assert_eq!(
            same.attrs("iframe", "src"),
            ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=65&autoplay=1"],
            "{t}"
        );
    }
    // Past the end (the video is 754 s long): from the beginning, not a broken player.
    let past = get(&app, &format!("/videos/{}?player=1&t=754", v.slug)).await;
    assert_eq!(
        past.attrs("iframe", "src"),
        ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"]
    );
    // A search for words of the transcript leads to their line.
    let found = get(&app, "/search?q=rain+scene").await;
    assert_eq!(
        found.attrs(".result-video h2 a", "href"),
        [format!("/videos/{}?t=65#cue-2", v.slug)]
    );
    assert_eq!(found.texts(".result-video .cue-at"), ["At 1:05"]);
    // …and shows that line, the words marked, rather than the description.
    assert_eq!(
        found.texts(".result-video .snippet mark"),
        ["rain", "scene"]
    );
    assert!(
        found
            .body
            .contains("The <mark>rain</mark> <mark>scene</mark>.</p>"),
        "{:?}",
        found.texts(".result-video .snippet")
    );
    let vtt = get(&app, &format!("/videos/{}/captions.vtt", v.slug)).await;
    assert_eq!(vtt.status, 200);
    assert!(vtt.body.starts_with("WEBVTT\n"));
    assert_eq!(
        vtt.header("content-type").as_deref(),
        Some("text/vtt; charset=utf-8")
    );
}

async fn uploaded_files_play_with_captions(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut input = gq();
    input.embed_url = None;
    input.file_key = Some("videos/ab/clip.mp4".into());
    input.file_mime = Some("video/mp4".into());
    let v = env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &input));
    let app = env.app().await;
    let page = get(&app, &format!("/videos/{}", v.slug)).await;
    assert_eq!(
        page.attrs("video source", "src"),
        ["/media/videos/ab/clip.mp4"]
    );
    assert_eq!(
        page.attrs("video track", "src"),
        [format!("/videos/{}/captions.vtt", v.slug)]
    );
    // Time codes seek our own player: a media fragment without script, in place with it.
    assert_eq!(page.attrs(".cues a", "data-seconds"), ["4", "65"]);
    assert_eq!(
        page.attrs(".cues a", "href")[1],
        format!("/videos/{}?t=65#player", v.slug)
    );
    assert!(page.attrs("script[src]", "src")[0].starts_with("/static/site."));
    let at = get(&app, &format!("/videos/{}?t=65", v.slug)).await;
    assert_eq!(
        at.attrs("video source", "src"),
        ["/media/videos/ab/clip.mp4#t=65"]
    );
}

async fn posters_show_before_the_provider_loads(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut input = gq();
    input.poster_key = Some("posters/ab/gq.jpg".into());
    let v = env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &input));
    let app = env.app().await;
    let page = get(&app, &format!("/videos/{}", v.slug)).await;
    assert_eq!(
        page.attrs(".player-notice .poster img", "src"),
        ["/media/posters/ab/gq.jpg"]
    );
    assert_eq!(
        page.attrs(".player-notice .poster", "href"),
        [format!("/videos/{}?player=1#player", v.slug)]
    );
    assert!(page.attrs("iframe", "src").is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&page.texts("script[type='application/ld+json']")[0]).expect("ld");
    assert_eq!(
        json["thumbnailUrl"],
        "http://keepsake.test/media/posters/ab/gq.jpg"
    );
    assert_eq!(
        page.attrs("meta[property='og:image']", "content"),
        ["http://keepsake.test/media/posters/ab/gq.jpg"]
    );
    assert!(
        page.attrs("meta[property='og:image:width']", "content")
            .is_empty(),
        "a size that cannot be read is not made up"
    );
}

/// An embed without a poster gets the provider's thumbnail, fetched once and kept: a provider
/// stands in on loopback (YouTube's image host, Vimeo's oEmbed), which only a fetcher told to
/// allow private addresses reaches.
async fn embedded_videos_get_the_providers_thumbnail(backend: Backend) {
    use cms_core::posters::{Providers, fetch, fetcher};
    let env = TestEnv::new(backend);
    let provider = tempfile::tempdir().expect("tempdir");
    let put = |rel: &str, bytes: &[u8]| {
        let p = provider.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    };
    let thumb = crate::gallery::files::jpeg(480, 360, 7);
    // No maxresdefault for this one: the smaller thumbnail is taken.
    put("vi/dQw4w9WgXcQ/hqdefault.jpg", &thumb);
    put("vi/aaaaaaaaaaa/hqdefault.jpg", b"<html>not an image</html>");
    let site = crate::import::wordpress::OldSite::serve(provider.path().to_path_buf());
    let base = format!("http://127.0.0.1:{}", site.port);
    put(
        "api/oembed.json",
        format!("{{\"type\":\"video\",\"thumbnail_url\":\"{base}/vimeo/76979871.jpg\"}}")
            .as_bytes(),
    );
    put(
        "vimeo/76979871.jpg",
        &crate::gallery::files::jpeg(640, 360, 9),
    );
    let providers = Providers {
        youtube_images: base.clone(),
        vimeo_oembed: format!("{base}/api/oembed.json"),
    };
    let media = env.state.media.as_ref();
    let key = fetch(
        "https://youtu.be/dQw4w9WgXcQ",
        &providers,
        &fetcher(true),
        media,
    )
    .expect("youtube thumbnail");
    assert!(
        key.starts_with("posters/") && key.ends_with(".jpg"),
        "{key}"
    );
    assert_eq!(
        std::fs::read(env.state.config.storage.media_dir.join(&key)).expect("stored"),
        thumb
    );
    let vimeo = fetch(
        "https://vimeo.com/76979871",
        &providers,
        &fetcher(true),
        media,
    )
    .expect("vimeo thumbnail");
    assert_ne!(vimeo, key);
    // Refused: what is not an image, a video the provider has no thumbnail for, and — with
    // the guard on, as the admin runs it — a provider on a private address.
    let junk = fetch(
        "https://youtu.be/aaaaaaaaaaa",
        &providers,
        &fetcher(true),
        media,
    );
    assert!(
        junk.as_ref().is_err_and(|e| e.contains("not an image")),
        "{junk:?}"
    );
    let none = fetch(
        "https://youtu.be/bbbbbbbbbbb",
        &providers,
        &fetcher(true),
        media,
    );
    assert!(none.as_ref().is_err_and(|e| e.contains("404")), "{none:?}");
    let guarded = fetch(
        "https://youtu.be/dQw4w9WgXcQ",
        &providers,
        &fetcher(false),
        media,
    );
    assert!(
        guarded
            .as_ref()
            .is_err_and(|e| e.contains("private or reserved")),
        "{guarded:?}"
    );
    // The fetched poster is the video's thumbnail for readers and share cards.
    let mut input = gq();
    input.poster_key = Some(key.clone());
    let v = env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &input));
    let app = env.app().await;
    let page = get(&app, &format!("/videos/{}", v.slug)).await;
    let json: serde_json::Value =
        serde_json::from_str(&page.texts("script[type='application/ld+json']")[0]).expect("ld");
    assert_eq!(
        json["thumbnailUrl"],
        format!("http://keepsake.test/media/{key}")
    );
    assert_eq!(
        page.attrs("meta[property='og:image']", "content"),
        [format!("http://keepsake.test/media/{key}")]
    );
    assert_eq!(
        page.attrs("meta[property='og:image:width']", "content"),
        ["480"],
        "the poster's own size"
    );
    assert_eq!(
        page.attrs("meta[property='og:image:height']", "content"),
        ["360"]
    );
    assert_eq!(
        get(&app, &format!("/media/{key}")).await.status,
        200,
        "served from our own store"
    );
}

async fn video_list_hides_drafts(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &gq()));
    let draft = env.write(|c| {
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &VideoInput {
                title: "Unreleased clip".into(),
                ..VideoInput::default()
            },
        )
    });
    let app = env.app().await;
    let page = get(&app, "/videos").await;
    assert_eq!(
        page.texts(".card-title"),
        ["Kit Connor & Joe Locke React To Heartstopper Scenes"]
    );
    assert_eq!(
        get(&app, &format!("/videos/{}", draft.slug)).await.status,
        404
    );
    assert_eq!(
        get(&app, &format!("/videos/{}/captions.vtt", draft.slug))
            .await
            .status,
        404
    );
    assert_eq!(get(&app, "/videos?page=0").await.status, 400);
}

backend_tests!(
    posters_show_before_the_provider_loads,
    embedded_videos_get_the_providers_thumbnail,
    video_page_asks_before_loading_the_provider,
    uploaded_files_play_with_captions,
    video_list_hides_drafts
);
