//! Migrations: idempotent, and the two backends' schemas kept in step.

use std::collections::BTreeMap;

use cms_core::db::run_migrations;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::common::{Backend, TestEnv};

#[derive(QueryableByName)]
struct Col {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(env: &TestEnv) -> BTreeMap<String, Vec<String>> {
    let mut conn = env.conn();
    let rows: Vec<Col> = match env.backend {
        Backend::Sqlite => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations'
               AND m.name NOT LIKE '%search%'
             ORDER BY m.name, p.cid",
        )
        .load(&mut *conn),
        Backend::Postgres => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name != '__diesel_schema_migrations'
               AND table_name NOT LIKE '%search%'
             ORDER BY table_name, ordinal_position",
        )
        .load(&mut *conn),
    }
    .expect("columns");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        map.entry(r.table_name).or_default().push(r.column_name);
    }
    map
}

#[actix_web::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let sqlite = TestEnv::new(Backend::Sqlite);
    let pg = TestEnv::new(Backend::Postgres);
    let (a, b) = (columns(&sqlite), columns(&pg));
    assert!(a.len() >= 20, "{a:?}");
    assert_eq!(a, b);
}

async fn ids_are_never_reused(backend: Backend) {
    use cms_core::models::post::PostInput;
    use cms_core::models::subscriber;
    let env = TestEnv::new(backend);
    // Posts: delete the newest, write another: it gets a new id.
    let a = env.write(|c| {
        cms_core::service::posts::create(c, &crate::common::cli(), &PostInput::new("First", "x"))
    });
    let b = env.write(|c| {
        cms_core::service::posts::create(c, &crate::common::cli(), &PostInput::new("Second", "x"))
    });
    env.write(|c| cms_core::service::posts::delete(c, &crate::common::cli(), b.id));
    let c = env.write(|c| {
        cms_core::service::posts::create(c, &crate::common::cli(), &PostInput::new("Third", "x"))
    });
    assert!(c.id > b.id && b.id > a.id, "{} {} {}", a.id, b.id, c.id);
    // Photos: the same.
    let al = env.album_with_photos(&["Gallery"], "Album", 2).id;
    let ids: Vec<i64> = {
        use diesel::prelude::*;
        cms_core::schema::photos::table
            .filter(cms_core::schema::photos::album_id.eq(al))
            .order(cms_core::schema::photos::id)
            .select(cms_core::schema::photos::id)
            .load(&mut *env.conn())
            .expect("ids")
    };
    let newest = *ids.last().expect("photos");
    env.write(|c| {
        cms_core::service::gallery::delete_photos(c, &crate::common::cli(), &[newest]).map(drop)
    });
    let again = env.write(|c| {
        cms_core::service::gallery::add_photos(
            c,
            &crate::common::cli(),
            al,
            &crate::common::fake_photos("again", 1),
        )
    });
    assert!(
        again.inserted[0] > newest,
        "{:?} after {newest}",
        again.inserted
    );
    // Subscribers: the same.
    let id_of = |s: subscriber::SignUp| match s {
        subscriber::SignUp::SendConfirmation { subscriber_id, .. } => subscriber_id,
        other => panic!("{other:?}"),
    };
    let topics = [subscriber::Topic::News];
    let s1 = id_of(env.write(|c| subscriber::sign_up(c, "one@example.org", &topics, "test")));
    env.write(|c| subscriber::delete(c, s1));
    let s2 = id_of(env.write(|c| subscriber::sign_up(c, "two@example.org", &topics, "test")));
    assert!(s2 > s1, "{s2} after {s1}");
}

async fn migrating_twice_is_a_no_op(backend: Backend) {
    let env = TestEnv::new(backend);
    let report = run_migrations(&mut env.conn()).expect("second run");
    assert!(report.applied.is_empty(), "{:?}", report.applied);
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Every table a migration makes is backed up, counted and exported (or deliberately not):
/// a new table cannot be forgotten by `cms backup --verify`'s counts or `cms export`.
async fn every_table_is_backed_up_and_exported(backend: Backend) {
    let env = TestEnv::new(backend);
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE 'search_fts%' AND name <> '__diesel_schema_migrations'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations' \
             AND table_name <> 'search_documents'"
        }
    };
    let mut have: Vec<String> =
        cms_core::per_backend!(&mut *env.conn(), |c| diesel::sql_query(sql)
            .load::<TableName>(c))
        .expect("tables")
        .into_iter()
        .map(|t| t.name)
        .collect();
    have.sort();
    let mut counted: Vec<String> = cms_core::backup::tables().map(str::to_string).collect();
    counted.sort();
    assert_eq!(
        have, counted,
        "backup::tables() and export::ORDER name every table"
    );
}

crate::backend_tests!(
    migrating_twice_is_a_no_op,
    ids_are_never_reused,
    every_table_is_backed_up_and_exported
);
