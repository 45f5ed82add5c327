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

async fn migrating_twice_is_a_no_op(backend: Backend) {
    let env = TestEnv::new(backend);
    let report = run_migrations(&mut env.conn()).expect("second run");
    assert!(report.applied.is_empty(), "{:?}", report.applied);
}

crate::backend_tests!(migrating_twice_is_a_no_op);
