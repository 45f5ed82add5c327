//! What each item of an imported site became: (source, kind, the source's own id) → our id.
//! Importers write the row in the same transaction as the item, so a run killed at any point
//! and started again finds exactly what is already there.

use std::collections::HashMap;

use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::import_items;

/// Our id for a source item, if an earlier run imported it.
pub fn find(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    source_id: &str,
) -> QueryResult<Option<i64>> {
    import_items::table
        .filter(import_items::source.eq(source))
        .filter(import_items::kind.eq(kind))
        .filter(import_items::source_id.eq(source_id))
        .select(import_items::target_id)
        .first(conn)
        .optional()
}

/// Every item of one kind from a source: source id → our id.
pub fn all_of(conn: &mut DbConn, source: &str, kind: &str) -> QueryResult<HashMap<String, i64>> {
    Ok(import_items::table
        .filter(import_items::source.eq(source))
        .filter(import_items::kind.eq(kind))
        .select((import_items::source_id, import_items::target_id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Records what a source item became (replacing an earlier record of the same item).
pub fn record(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    source_id: &str,
    target_id: i64,
) -> QueryResult<()> {
    diesel::delete(
        import_items::table
            .filter(import_items::source.eq(source))
            .filter(import_items::kind.eq(kind))
            .filter(import_items::source_id.eq(source_id)),
    )
    .execute(conn)?;
    diesel::insert_into(import_items::table)
        .values((
            import_items::source.eq(source),
            import_items::kind.eq(kind),
            import_items::source_id.eq(source_id),
            import_items::target_id.eq(target_id),
            import_items::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
