//! Settings: the site's look set from the admin — title, tagline, header image (a gallery photo
//! or an upload), accent colour, footer text, social links and icon — shown on every public page
//! at once, with bad input refused field by field and nothing changed.

use actix_web::test;
use cms_core::models::album::AlbumStatus;
use cms_core::models::audit;
use cms_core::models::user::Role;

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, multipart};
use crate::gallery::files;

fn settings_request(
    token: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> test::TestRequest {
    let boundary = "XsettingsX";
    // The form's hidden CSRF field comes first, as the page sends it.
    let mut all: Vec<(&str, &str)> = vec![("_csrf", token)];
    all.extend_from_slice(fields);
    test::TestRequest::post()
        .uri("/admin/settings")
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(multipart(boundary, &all, files))
}

const LOOK: &[(&str, &str)] = &[
    ("title", "Kit Connor Daily"),
    ("tagline", "Photos, news & <interviews> since 2019"),
    ("accent", "#1A4F8B"),
    (
        "footer",
        "Not affiliated with Kit Connor or his representatives.\r\nImages © their owners.",
    ),
    (
        "social",
        "https://www.instagram.com/kcdaily\n\nhttps://x.com/kcdaily",
    ),
];

async fn the_site_is_branded_from_settings(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "owner@example.org", Role::Admin);
    make_user(&env, "editor@example.org", Role::Editor);
    let shown = env.album_with_photos(&["Events"], "Premiere", 2);
    let hidden = env.album_with_photos(&["Events"], "Unreleased", 1);
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            hidden.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    let photo_id = |a: i64| {
        cms_core::models::photo::page_in_album(&mut env.conn(), a, 0, 1).expect("q")[0].clone()
    };
    let header = photo_id(shown.id);
    let draft_photo = photo_id(hidden.id);
    let app = env.app().await;

    // Editors do not change the site's look.
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(ed.get(&app, "/admin/settings").await.status, 403);

    let mut owner = Client::new();
    owner.login(&app, "owner@example.org", PASSWORD).await;
    let form = owner.get(&app, "/admin/settings").await;
    assert_eq!(form.status, 200);
    assert_eq!(form.attrs("input[name=title]", "value"), ["Keepsake"]);
    assert_eq!(form.attrs("input[name=accent]", "value"), ["#8a1c4a"]);
    let token = csrf_of(&form);

    // The photo page's address pasted whole is taken as its number.
    let header_id = format!("https://fans.example/photos/{}?size=1280", header.id);
    let mut fields = LOOK.to_vec();
    fields.push(("header_photo", &header_id));
    let saved = owner
        .send(&app, settings_request(&token, &fields, &[]))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    // Every public page shows it at once.
    for path in ["/", "/gallery", "/posts", "/no-such-page"] {
        let page = get(&app, path).await;
        assert_eq!(page.texts(".site-title"), ["Kit Connor Daily"], "{path}");
        assert_eq!(
            page.texts(".tagline"),
            ["Photos, news & <interviews> since 2019"],
            "{path}"
        );
        assert!(
            page.body.contains("&#60;interviews&#62;") && !page.body.contains("<interviews>"),
            "{path}: the tagline is escaped: {}",
            page.body
                .lines()
                .filter(|l| l.contains("interviews"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert_eq!(page.attrs("body", "style"), ["--accent:#1a4f8b"], "{path}");
        assert_eq!(
            page.texts(".disclaimer"),
            [
                "Not affiliated with Kit Connor or his representatives.",
                "Images © their owners."
            ]
        );
        assert_eq!(page.texts(".social a"), ["Instagram", "X"]);
        assert_eq!(
            page.attrs(".social a", "href"),
            ["https://www.instagram.com/kcdaily", "https://x.com/kcdaily"]
        );
        let banner = page.attrs(".banner img", "srcset");
        assert!(
            banner.len() == 1 && banner[0].contains(&header.content_hash),
            "{path}: {banner:?}"
        );
    }
    let home = get(&app, "/").await;
    assert_eq!(home.texts("title"), ["Kit Connor Daily"]);
    assert_eq!(home.attrs(".banner-home img", "fetchpriority"), ["high"]);
    assert_eq!(
        home.attrs("meta[property='og:site_name']", "content"),
        ["Kit Connor Daily"]
    );
    let audit_rows = audit::recent(&mut env.conn(), 50, 0).expect("audit");
    assert!(
        audit_rows.iter().any(|r| r.action == "settings.update"),
        "saving is audited"
    );

    // Bad input: each field says what is wrong, the typed values come back, nothing changes.
    for (field, value, says) in [
        ("accent", "#ffeb3b", "too light"),
        ("accent", "blue", "#rrggbb"),
        ("social", "javascript:alert(1)", "not a web address"),
        ("title", "   ", "title"),
        ("header_photo", "abc", "not a photo number"),
        (
            "header_photo",
            &draft_photo.id.to_string(),
            "not in a published album",
        ),
        ("header_photo", "999999", "there is no photo 999999"),
    ] {
        let mut bad: Vec<(&str, &str)> =
            LOOK.iter().filter(|(k, _)| *k != field).copied().collect();
        bad.push((field, value));
        bad.push(("tagline", "Changed"));
        let page = owner.send(&app, settings_request(&token, &bad, &[])).await;
        assert_eq!(page.status, 422, "{field}={value}");
        let errors = page.texts(".field-error").join(" ");
        assert!(errors.contains(says), "{field}={value}: {errors}");
        assert_eq!(page.attrs("input[name=tagline]", "value"), ["Changed"]);
        assert_eq!(
            get(&app, "/").await.texts(".tagline"),
            ["Photos, news & <interviews> since 2019"],
            "{field}={value} changed nothing"
        );
    }

    // Removing the header and choosing another in the same save is a question, not a guess.
    let mut both = LOOK.to_vec();
    let other = draft_photo.id.to_string();
    both.push(("header_photo", &other));
    both.push(("remove_header", "on"));
    let page = owner.send(&app, settings_request(&token, &both, &[])).await;
    assert_eq!(page.status, 422);
    assert!(
        page.texts(".field-error").join(" ").contains("not both"),
        "{:?}",
        page.texts(".field-error")
    );
    assert_eq!(
        get(&app, "/").await.attrs(".banner img", "srcset").len(),
        1,
        "the header stays"
    );
    // The form shows the current header's number; ticking "remove" with it there removes it.
    let shown = owner.get(&app, "/admin/settings").await;
    assert_eq!(
        shown.attrs("input[name=header_photo]", "value"),
        [header.id.to_string()]
    );
    let current = header.id.to_string();
    let mut removing = LOOK.to_vec();
    removing.push(("header_photo", &current));
    removing.push(("remove_header", "on"));
    let removed = owner
        .send(&app, settings_request(&token, &removing, &[]))
        .await;
    assert_eq!(removed.status, 303, "{:?}", removed.texts(".field-error"));
    assert!(
        get(&app, "/")
            .await
            .attrs(".banner img", "srcset")
            .is_empty()
    );
    let mut again = LOOK.to_vec();
    again.push(("header_photo", &current));
    assert_eq!(
        owner
            .send(&app, settings_request(&token, &again, &[]))
            .await
            .status,
        303
    );

    // Every problem at once, named by the form's labels, uploads included.
    let mut many: Vec<(&str, &str)> = vec![
        ("title", ""),
        ("accent", "#ffee00"),
        ("social", "not a url\nhttps://ok.example/\nftp://x.example/"),
        ("header_photo", "abc"),
    ];
    many.push(("tagline", "Changed"));
    let page = owner
        .send(
            &app,
            settings_request(&token, &many, &[("icon_file", "icon.svg", b"<svg/>")]),
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.texts(".field-error").len(),
        5,
        "{:?}",
        page.texts(".field-error")
    );
    let summary = page.texts(".error li");
    for label in [
        "Site title",
        "Accent colour",
        "Social links",
        "Header photo from the gallery",
        "Icon",
    ] {
        assert!(
            summary.iter().any(|l| l.starts_with(label)),
            "{label} in {summary:?}"
        );
    }
    assert!(
        summary
            .iter()
            .any(|l| l.contains("“not a url”") && l.contains("“ftp://x.example/”")),
        "{summary:?}"
    );

    // An uploaded header goes through the photo pipeline; an uploaded icon is served as sent.
    let wide = files::jpeg(2200, 500, 9);
    let icon = files::png(64, 64, 3);
    let up = owner
        .send(
            &app,
            settings_request(
                &token,
                LOOK,
                &[
                    ("header_file", "banner.jpg", &wide),
                    ("icon_file", "icon.png", &icon),
                ],
            ),
        )
        .await;
    assert_eq!(up.status, 303, "{}", up.body);
    let home = get(&app, "/").await;
    let srcset = home.attrs(".banner img", "srcset").remove(0);
    assert!(
        srcset.contains(" 1920w") && !srcset.contains(&header.content_hash),
        "{srcset}"
    );
    for url in srcset
        .split(", ")
        .map(|s| s.split(' ').next().expect("url"))
    {
        let file = get(&app, url).await;
        assert_eq!(file.status, 200, "{url}");
    }
    let icon_href = home.attrs("link[rel=icon]", "href").remove(0);
    assert!(icon_href.starts_with("/media/branding/"), "{icon_href}");
    assert_eq!(home.attrs("link[rel=icon]", "type"), ["image/png"]);
    assert_eq!(get(&app, &icon_href).await.status, 200);
    // Browsers that ask for /favicon.ico by habit get the branded icon too, for a while only.
    let habit = get(&app, "/favicon.ico").await;
    assert_eq!(habit.status, 302);
    assert_eq!(
        habit.header("location").as_deref(),
        Some(icon_href.as_str())
    );
    assert_eq!(
        habit.header("cache-control").as_deref(),
        Some("public, max-age=300")
    );

    // An icon that is not square, or too small to be sharp, is refused; so is a new icon
    // together with "use the default icon".
    for (name, png, says) in [
        ("wide.png", files::png(64, 32, 3), "must be square"),
        ("tiny.png", files::png(16, 16, 3), "32 to 512 pixels"),
    ] {
        let page = owner
            .send(
                &app,
                settings_request(&token, LOOK, &[("icon_file", name, &png)]),
            )
            .await;
        assert_eq!(page.status, 422, "{name}");
        let errors = page.texts(".field-error").join(" ");
        assert!(errors.contains(says), "{name}: {errors}");
    }
    let mut both = LOOK.to_vec();
    both.push(("remove_icon", "on"));
    let page = owner
        .send(
            &app,
            settings_request(&token, &both, &[("icon_file", "icon.png", &icon)]),
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.texts(".field-error").join(" ").contains("not both"));

    // Files that are not what they claim are refused.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let bad = owner
        .send(
            &app,
            settings_request(
                &token,
                LOOK,
                &[
                    ("icon_file", "icon.svg", svg),
                    ("header_file", "banner.jpg", b"not a jpeg"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, 422);
    let errors = bad.texts(".field-error").join(" ");
    assert!(errors.contains("icon.svg is not a PNG"), "{errors}");
    assert!(errors.contains("banner.jpg could not be used"), "{errors}");
    assert_eq!(
        get(&app, "/").await.attrs("link[rel=icon]", "href"),
        [icon_href]
    );

    // Removing both brings back the plain header and the default icon.
    let mut fields = LOOK.to_vec();
    fields.push(("remove_header", "on"));
    fields.push(("remove_icon", "on"));
    assert_eq!(
        owner
            .send(&app, settings_request(&token, &fields, &[]))
            .await
            .status,
        303
    );
    let home = get(&app, "/").await;
    assert!(home.texts(".banner").is_empty());
    assert!(
        home.attrs("link[rel=icon]", "href")[0].starts_with("/static/icon."),
        "the default icon"
    );
    let habit = get(&app, "/favicon.ico").await;
    assert_eq!(
        habit.header("location"),
        home.attrs("link[rel=icon]", "href").first().cloned()
    );
}

backend_tests!(the_site_is_branded_from_settings);
