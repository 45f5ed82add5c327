//! What a built page costs the database, counted where statements are sent (`/metrics`'
//! `keepsake_db_statements_total`, the page cache off): on PostgreSQL, where each statement
//! is a round trip, every page sends a small number of them that does not grow with its
//! content — a post with eight album embeds costs what one with one embed costs, the home
//! page with three latest additions what it costs with one — and the batched thumbnail strips
//! show what they showed before.

use cms_core::models::photo;
use cms_core::models::post::{self, PostInput, PostStatus};
use diesel::prelude::*;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, get_with};

const TOKEN: &str = "count-statements-0123";

async fn sent<S, B>(app: &S) -> u64
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let auth = format!("Bearer {TOKEN}");
    let scrape = get_with(app, "/metrics", &[("Authorization", &auth)]).await;
    assert_eq!(scrape.status, 200);
    scrape
        .body
        .lines()
        .find_map(|l| {
            l.strip_prefix("keepsake_db_statements_total ")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no statement count in\n{}", scrape.body))
}

/// Statements one request of `path` sends: the fewest of three tries (a try may also read the
/// content version, which a node does at most once a second), less the scrape's own.
async fn cost<S, B>(app: &S, path: &str) -> u64
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    cost_with(app, path, &[]).await
}

/// [`cost`] of a request with `headers` (a session cookie, a bearer token).
async fn cost_with<S, B>(app: &S, path: &str, headers: &[(&str, &str)]) -> u64
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let a = sent(app).await;
        let b = sent(app).await;
        let page = get_with(app, path, headers).await;
        assert_eq!(page.status, 200, "{path}");
        let c = sent(app).await;
        fewest = fewest.min((c - b).saturating_sub(b - a));
    }
    fewest
}

fn published(title: &str, body: &str) -> PostInput {
    let mut p = PostInput::new(title, body);
    p.status = PostStatus::Published;
    p
}

async fn pages_send_a_fixed_number_of_statements(backend: Backend) {
    let env = TestEnv::with(backend, &[("metrics", TOKEN), ("page_cache_mb", "0")]);
    let path = ["Television Productions", "Heartstopper", "Season 2"];
    let first = env.album_with_photos(&path, "Episode 1", 9);
    let one = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("One embed", &format!("Look:\n\n[[album:{}]]\n", first.slug)),
        )
    });
    let app = env.app().await;
    let home_one = cost(&app, "/").await;
    let post_one = cost(&app, &format!("/posts/{}", one.slug)).await;

    // Seven more albums; a post embedding all eight; three albums among the latest additions.
    let mut slugs = vec![first.slug.clone()];
    for i in 2..=8 {
        slugs.push(
            env.album_with_photos(&path, &format!("Episode {i}"), 5 + i)
                .slug,
        );
    }
    let body: String = slugs.iter().map(|s| format!("[[album:{s}]]\n\n")).collect();
    let eight = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Eight embeds", &body),
        )
    });
    let app = env.app().await;
    let post_eight = cost(&app, &format!("/posts/{}", eight.slug)).await;
    let home_three = cost(&app, "/").await;

    // The pages show every strip, each with its own album's first photos.
    let page = get(&app, &format!("/posts/{}", eight.slug)).await;
    assert_eq!(page.texts(".embed-album").len(), 8);
    assert_eq!(page.attrs(".embed-album img", "src").len(), 8 * 4);
    let home = get(&app, "/").await;
    assert_eq!(
        home.texts(".addition h3"),
        ["Episode 8", "Episode 7", "Episode 6"]
    );
    assert!(
        home.texts(".addition .meta")[0].starts_with("13 new photos"),
        "{:?}",
        home.texts(".addition .meta")
    );
    assert_eq!(home.attrs(".addition .thumbs img", "src").len(), 3 * 6);

    let album = cost(&app, &format!("/albums/{}", first.slug)).await;
    let some_photo = photo::page_in_album(&mut env.conn(), first.id, 0, 1).expect("photo")[0].id;
    let photo_page = cost(&app, &format!("/photos/{some_photo}")).await;
    let gallery = cost(&app, "/gallery").await;
    let search = cost(&app, "/search?q=episode").await;

    // Two more top categories: the gallery shows three category cards, each with the cover of
    // the album last added beneath it, for what one cost.
    let films = env.album_with_photos(&["Films", "Cannes 2026"], "Red carpet", 3);
    let events = env.album_with_photos(&["Events"], "Panel", 2);
    let app = env.app().await;
    let gallery_three = cost(&app, "/gallery").await;
    let page = get(&app, "/gallery").await;
    let covers = page.attrs(".category-card img", "src");
    assert_eq!(covers.len(), 3, "{covers:?}");
    let eighth = cms_core::models::album::find_by_slug(&mut env.conn(), &slugs[7])
        .expect("q")
        .expect("album");
    for a in [&eighth, &films, &events] {
        let cover = photo::by_ids(&mut env.conn(), &[a.cover_photo_id.expect("cover")])
            .expect("q")
            .remove(0);
        assert!(
            covers.iter().any(|src| src.contains(&cover.content_hash)),
            "{} in {covers:?}",
            a.title
        );
    }
    // The latest additions the gallery takes from the albums it read are the ones the
    // database would give (an empty album among them, left out).
    env.album_with_photos(&["Events"], "Nothing yet", 0);
    {
        use cms_core::models::album;
        let ids = |v: Vec<album::Album>| v.iter().map(|a| a.id).collect::<Vec<_>>();
        let all = album::all_published(&mut env.conn()).expect("albums");
        for n in [1, 6, 20] {
            assert_eq!(
                ids(album::latest_of(&all, n)),
                ids(album::latest_published(&mut env.conn(), n as i64).expect("latest")),
                "{n}"
            );
        }
    }
    let figures = format!(
        "home {home_one} → {home_three}, post {post_one} → {post_eight}, album {album}, \
         photo {photo_page}, gallery {gallery} → {gallery_three}, search {search}"
    );
    eprintln!("{backend:?}: statements per page: {figures}");
    if backend == Backend::Postgres {
        // One statement per kind of thing on the page, none per item, no BEGIN/COMMIT.
        assert_eq!(post_one, post_eight, "{figures}");
        assert_eq!(home_one, home_three, "{figures}");
        assert!(home_three <= 4, "{figures}");
        assert!(post_eight <= 4, "{figures}");
        assert!(album <= 4, "{figures}");
        assert!(photo_page <= 2, "{figures}");
        assert_eq!(gallery, gallery_three, "{figures}");
        assert!(gallery <= 5, "{figures}");
        assert!(search <= 4, "{figures}");
    }
}

async fn strips_show_the_photos_asked_for(backend: Backend) {
    use cms_core::schema::photos;
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(&["Strips"], "Many days", 12);
    let b = env.album_with_photos(&["Strips"], "Other", 3);
    let empty = env.album_with_photos(&["Strips"], "Empty", 0);
    let ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 100)
        .expect("photos")
        .iter()
        .map(|p| p.id)
        .collect();
    // The album's last five photos were added a day later; shown in reverse order.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    env.write(|c| {
        diesel::update(photos::table.filter(photos::album_id.eq(a.id)))
            .set(photos::created_at.eq(day))
            .execute(c)?;
        for (n, id) in ids[7..].iter().enumerate() {
            diesel::update(photos::table.find(id))
                .set((
                    photos::created_at.eq(day + chrono::Duration::days(1)),
                    photos::position.eq(1000 - n as i64),
                ))
                .execute(c)?;
        }
        Ok(())
    });
    let next_day = (day + chrono::Duration::days(1))
        .date()
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    let wants = [
        photo::StripOf::first(a.id),
        photo::StripOf {
            added: Some((next_day, next_day + chrono::Duration::days(1))),
            ..photo::StripOf::first(a.id)
        },
        photo::StripOf::first(empty.id),
        photo::StripOf {
            first_id: ids[10],
            ..photo::StripOf::first(a.id)
        },
        photo::StripOf::first(b.id),
        photo::StripOf::first(a.id),
    ];
    let strips = photo::strips(&mut env.conn(), &wants, 4, true).expect("strips");
    let got: Vec<(Vec<i64>, i64)> = strips
        .iter()
        .map(|s| (s.photos.iter().map(|p| p.id).collect(), s.matching))
        .collect();
    let b_ids: Vec<i64> = photo::page_in_album(&mut env.conn(), b.id, 0, 10)
        .expect("photos")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        got,
        vec![
            (ids[..4].to_vec(), 12),
            (vec![ids[11], ids[10], ids[9], ids[8]], 5),
            (vec![], 0),
            (vec![ids[11], ids[10]], 2),
            (b_ids, 3),
            (ids[..4].to_vec(), 12),
        ]
    );
    // Without counts, the same photos.
    let uncounted = photo::strips(&mut env.conn(), &wants, 4, false).expect("strips");
    for (s, u) in strips.iter().zip(&uncounted) {
        assert_eq!(
            s.photos.iter().map(|p| p.id).collect::<Vec<_>>(),
            u.photos.iter().map(|p| p.id).collect::<Vec<_>>()
        );
    }
    assert!(
        photo::strips(&mut env.conn(), &[], 4, true)
            .expect("none")
            .is_empty()
    );
    // Photos by id: in the order asked, each once, however many ids (more than SQLite takes
    // in one statement).
    let mut asked = vec![ids[3], ids[1]];
    asked.extend(1_000_000..1_040_000);
    asked.push(ids[3]);
    let got: Vec<i64> = photo::by_ids(&mut env.conn(), &asked)
        .expect("by ids")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(got, [ids[3], ids[1]]);
}

async fn random_picks_are_published_photos_once_each(backend: Backend) {
    let env = TestEnv::new(backend);
    let shown = env.album_with_photos(&["Random"], "Shown", 30);
    let hidden = env.album_with_photos(&["Random"], "Hidden", 30);
    hide(&env, hidden.id);
    check_random_picks(&env, shown.id);
    // Ids with many gaps: most of the id range is photos of albums readers cannot see, so few
    // random ids are published photos; the picks are still published photos only, each once.
    let hidden_too = env.album_with_photos(&["Random"], "Hidden too", 120);
    hide(&env, hidden_too.id);
    check_random_picks(&env, shown.id);
}

/// Makes an album a draft, as an editor would.
fn hide(env: &TestEnv, album: i64) {
    use cms_core::models::album::AlbumStatus;
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            album,
            AlbumStatus::Draft,
        )
        .map(|_| ())
    });
}

fn check_random_picks(env: &TestEnv, shown: i64) {
    for _ in 0..20 {
        let picks = photo::random_published(&mut env.conn(), 12).expect("picks");
        assert!(!picks.is_empty());
        let mut ids: Vec<i64> = picks.iter().map(|(p, _)| p.id).collect();
        assert!(
            picks
                .iter()
                .all(|(p, album)| album == "Shown" && p.album_id == shown),
            "only the published album's photos"
        );
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), picks.len(), "each photo once");
        assert!(picks.len() <= 12);
    }
}

/// Keepsake's PostgreSQL connections price a page read at random as an SSD does
/// (`random_page_cost` 1.1) where the server was left at PostgreSQL's built-in 4, and keep a
/// value an administrator set (here for the database).
#[test]
fn postgres_connections_plan_for_ssd_unless_told_otherwise() {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let cost = |db: &cms_core::db::Db| {
        let mut conn = db.conn().expect("conn");
        let cms_core::DbConn::Pg(pg) = &mut *conn else {
            panic!("not PostgreSQL")
        };
        diesel::sql_query("SELECT current_setting('random_page_cost') AS value")
            .get_result::<Setting>(pg)
            .expect("setting")
            .value
    };
    let env = TestEnv::new(Backend::Postgres);
    assert_eq!(cost(&env.state.db), "1.1");
    let name = {
        let mut conn = env.conn();
        let cms_core::DbConn::Pg(pg) = &mut *conn else {
            panic!("not PostgreSQL")
        };
        diesel::sql_query("SELECT current_database() AS value")
            .get_result::<Setting>(pg)
            .expect("name")
            .value
    };
    {
        let mut conn = env.conn();
        let cms_core::DbConn::Pg(pg) = &mut *conn else {
            panic!("not PostgreSQL")
        };
        diesel::sql_query(format!(
            "ALTER DATABASE \"{name}\" SET random_page_cost = 2.5"
        ))
        .execute(pg)
        .expect("alter database");
    }
    let fresh = cms_core::db::Db::connect(&env.state.config.database).expect("db");
    assert_eq!(cost(&fresh), "2.5");
}

/// PostgreSQL plans the statements that take lists once per connection, not at every
/// execution (after five executions a prepared statement keeps its generic plan only if it is
/// no dearer than the custom ones; see `cms_core::db::prepared`).
#[test]
fn list_statements_are_planned_once_on_postgres() {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Plans {
        #[diesel(sql_type = Text)]
        statement: String,
        #[diesel(sql_type = BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = BigInt)]
        custom_plans: i64,
    }
    let env = TestEnv::new(Backend::Postgres);
    let a = env.album_with_photos(&["Television Productions", "Heartstopper"], "Episode 1", 9);
    let p = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Release", "Out now."),
        )
    });
    let mut conn = env.conn();
    let paths = vec!["television-productions".to_string()];
    for _ in 0..10 {
        photo::strips(&mut conn, &[photo::StripOf::first(a.id)], 4, true).expect("strips");
        cms_core::models::album::latest_covers_beneath(&mut conn, &paths).expect("covers");
        photo::random_published(&mut conn, 4).expect("random");
        post::categories_of(&mut conn, &[p.id]).expect("categories");
        post::tags_of(&mut conn, &[p.id]).expect("tags");
        post::terms_of(&mut conn, &[p.id]).expect("terms");
    }
    let cms_core::DbConn::Pg(pg) = &mut *conn else {
        panic!("not PostgreSQL")
    };
    let plans: Vec<Plans> = diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE '%(SELECT $1)%'",
    )
    .load(pg)
    .expect("plans");
    // Each of the six statements run ten times (the random picks' second statement, for ids
    // with many gaps, is not needed on this album and may run a time or two).
    let plans: Vec<Plans> = plans
        .into_iter()
        .filter(|p| p.generic_plans + p.custom_plans >= 10)
        .collect();
    let texts: Vec<&str> = plans.iter().map(|p| p.statement.as_str()).collect();
    assert_eq!(plans.len(), 6, "{texts:#?}");
    for p in &plans {
        assert!(
            p.generic_plans >= 4 && p.custom_plans <= 6,
            "planned again at every execution ({} custom plans, {} generic): {}",
            p.custom_plans,
            p.generic_plans,
            p.statement
        );
    }
}

/// The subscriber lists (the admin page, the API, the CSV export) read their rows' topics in
/// one statement, not one per subscriber: thirty rows cost what one costs, and each row shows
/// its own topics and cadences.
async fn subscriber_lists_send_a_fixed_number_of_statements(backend: Backend) {
    use cms_core::models::subscriber::{self, Cadence, Choice, Topic};
    let env = TestEnv::with(backend, &[("metrics", TOKEN), ("page_cache_mb", "0")]);
    let add = |n: usize| {
        let choices = match n % 3 {
            0 => vec![Choice::new(Topic::News, Cadence::Immediate)],
            1 => vec![
                Choice::new(Topic::Gallery, Cadence::Weekly),
                Choice::new(Topic::Videos, Cadence::Daily),
            ],
            _ => vec![],
        };
        env.write(|c| {
            subscriber::import_confirmed_for(c, &format!("fan{n:02}@example.org"), &choices, "test")
        });
    };
    add(0);
    crate::admin::client::make_user(
        &env,
        "editor@example.org",
        cms_core::models::user::Role::Editor,
    );
    let app = env.app().await;
    let mut client = crate::admin::client::Client::new();
    let login = client
        .login(&app, "editor@example.org", crate::admin::client::PASSWORD)
        .await;
    assert!(login.status < 400, "{}", login.status);
    let cookie: String = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let t = crate::api::token(&env, "crm", &["subscribers:write"]);
    let bearer = format!("Bearer {t}");
    let admin = [("Cookie", cookie.as_str())];
    let api = [("Authorization", bearer.as_str())];
    let admin_one = cost_with(&app, "/admin/subscribers", &admin).await;
    let api_one = cost_with(&app, "/api/v1/subscribers", &api).await;
    for n in 1..30 {
        add(n);
    }
    let admin_thirty = cost_with(&app, "/admin/subscribers", &admin).await;
    let api_thirty = cost_with(&app, "/api/v1/subscribers", &api).await;

    let list = get_with(&app, "/api/v1/subscribers", &api).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let l: serde_json::Value = serde_json::from_str(&list.body).expect("json");
    assert_eq!(l["total"], 30);
    for s in l["subscribers"].as_array().expect("rows") {
        let n: usize = s["email"].as_str().expect("email")[3..5]
            .parse()
            .expect("n");
        let want = match n % 3 {
            0 => serde_json::json!([{"topic": "news", "cadence": "immediate"}]),
            1 => serde_json::json!([
                {"topic": "gallery", "cadence": "weekly"},
                {"topic": "videos", "cadence": "daily"}
            ]),
            _ => serde_json::json!([]),
        };
        assert_eq!(s["topics"], want, "{s}");
    }
    let page = get_with(&app, "/admin/subscribers", &admin).await;
    assert_eq!(page.status, 200);
    let text = page.body.clone();
    assert!(text.contains("fan01@example.org"), "{text}");
    assert!(text.contains("gallery (weekly), videos (daily)"), "{text}");

    let figures =
        format!("admin list {admin_one} → {admin_thirty}, API list {api_one} → {api_thirty}");
    eprintln!("{backend:?}: statements per subscriber list: {figures}");
    assert_eq!(admin_one, admin_thirty, "{figures}");
    assert_eq!(api_one, api_thirty, "{figures}");
}

backend_tests!(
    pages_send_a_fixed_number_of_statements,
    subscriber_lists_send_a_fixed_number_of_statements,
    strips_show_the_photos_asked_for,
    random_picks_are_published_photos_once_each,
);
