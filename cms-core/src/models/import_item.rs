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

/// Forgets some items of one kind from a source (missing ones are fine).
pub fn forget(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    source_ids: &[String],
) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in source_ids.chunks(BATCH_ROWS) {
        n += diesel::delete(
            import_items::table
                .filter(import_items::source.eq(source))
                .filter(import_items::kind.eq(kind))
                .filter(import_items::source_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(n)
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

/// Rows per statement in the batch functions: 5 columns stay well under SQLite's 32,766 bound
/// parameters.
const BATCH_ROWS: usize = 1_000;

/// Which of `source_ids` an earlier run imported: source id → our id, one query per thousand
/// ids. On PostgreSQL each id is looked up by the key in a subquery over the list, which
/// always uses the key's index (an `= ANY` list over a table an import is filling gets planned
/// from stale statistics as a scan of every item of the source).
pub fn find_many(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    source_ids: &[String],
) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(source_ids.len());
    if let DbConn::Pg(c) = conn {
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
            target: Option<i64>,
        }
        use diesel::sql_types::{Array, Text};
        for chunk in source_ids.chunks(BATCH_ROWS) {
            let found: Vec<Found> = diesel::sql_query(
                "SELECT k.id, (SELECT i.target_id FROM import_items i
                               WHERE i.source = $1 AND i.kind = $2 AND i.source_id = k.id) AS target
                 FROM unnest($3::text[]) AS k(id)",
            )
            .bind::<Text, _>(source)
            .bind::<Text, _>(kind)
            .bind::<Array<Text>, _>(chunk)
            .load(c)?;
            out.extend(found.into_iter().filter_map(|f| Some((f.id, f.target?))));
        }
        return Ok(out);
    }
    for chunk in source_ids.chunks(BATCH_ROWS) {
        out.extend(
            import_items::table
                .filter(import_items::source.eq(source))
                .filter(import_items::kind.eq(kind))
                .filter(import_items::source_id.eq_any(chunk))
                .select((import_items::source_id, import_items::target_id))
                .load::<(String, i64)>(conn)?,
        );
    }
    Ok(out)
}

/// [`record`] for many items of one kind at once: one multi-row insert per thousand that
/// replaces the target of an item already recorded.
pub fn record_many(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    rows: &[(String, i64)],
) -> QueryResult<()> {
    use diesel::upsert::excluded;
    let t = now();
    for chunk in rows.chunks(BATCH_ROWS) {
        // One row per item: the last word wins when an item appears twice in one call.
        let mut unique: HashMap<&str, i64> = HashMap::with_capacity(chunk.len());
        for (id, target) in chunk {
            unique.insert(id.as_str(), *target);
        }
        let values: Vec<_> = unique
            .iter()
            .map(|(id, target)| {
                (
                    import_items::source.eq(source),
                    import_items::kind.eq(kind),
                    import_items::source_id.eq(*id),
                    import_items::target_id.eq(*target),
                    import_items::created_at.eq(t),
                )
            })
            .collect();
        crate::per_backend!(conn, |c| diesel::insert_into(import_items::table)
            .values(&values)
            .on_conflict((
                import_items::source,
                import_items::kind,
                import_items::source_id
            ))
            .do_update()
            .set((
                import_items::target_id.eq(excluded(import_items::target_id)),
                import_items::created_at.eq(excluded(import_items::created_at)),
            ))
            .execute(c))?;
    }
    Ok(())
}
