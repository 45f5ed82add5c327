//! Rows as JSON, the same on both backends: the columns are read from the database itself
//! (SQLite's `pragma_table_info`, PostgreSQL's `information_schema`), rows are dumped by the
//! database as JSON objects (SQLite `json_object`, PostgreSQL `row_to_json`) and loaded by the
//! database from one bound JSON array per batch (SQLite `json_each`, PostgreSQL
//! `json_populate_recordset`), so no value is ever spliced into SQL. Table and column names
//! come from our own list and the database's catalogue, never from a file.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConn;
use crate::error::{Error, Result};

/// The kind of a column's values in the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Real,
    Bool,
    Text,
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]`, UTC.
    Timestamp,
    /// `YYYY-MM-DD`.
    Date,
}

impl Kind {
    fn of(declared: &str) -> Kind {
        let d = declared.to_ascii_lowercase();
        if d.contains("bool") {
            Kind::Bool
        } else if d.contains("timestamp") {
            Kind::Timestamp
        } else if d == "date" {
            Kind::Date
        } else if d.contains("int") {
            Kind::Int
        } else if ["real", "double", "float", "numeric"]
            .iter()
            .any(|k| d.contains(k))
        {
            Kind::Real
        } else {
            Kind::Text
        }
    }
}

/// A column: its name, kind, and whether it may be null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

/// A table as exported: its name in the export, its columns, and the columns loaded in a
/// second pass (nullable references to itself or a table loaded later: a category's parent,
/// an album's cover photo).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<Column>,
    pub late: Vec<String>,
}

/// The search index, exported as a table of its own under this name (SQLite's FTS5 table and
/// PostgreSQL's `search_documents` hold the same four values).
pub const SEARCH: &str = "search";

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    decl: String,
    #[diesel(sql_type = BigInt)]
    required: i64,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    col: String,
    #[diesel(sql_type = Text)]
    target: String,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = BigInt)]
    r: i64,
    #[diesel(sql_type = Text)]
    j: String,
}

#[derive(QueryableByName)]
struct JsonOnly {
    #[diesel(sql_type = Text)]
    j: String,
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Reads the shape of `tables` (in load order) from the database.
pub fn describe(conn: &mut DbConn, tables: &[&'static str]) -> Result<Vec<Table>> {
    let mut out = Vec::new();
    for (i, &name) in tables.iter().enumerate() {
        if name == SEARCH {
            let col = |n: &str, kind| Column {
                name: n.into(),
                kind,
                nullable: false,
            };
            out.push(Table {
                name,
                columns: vec![
                    col("doc_id", Kind::Int),
                    col("title", Kind::Text),
                    col("body", Kind::Text),
                    col("slug", Kind::Text),
                ],
                late: Vec::new(),
            });
            continue;
        }
        let (cols, fks): (Vec<ColumnRow>, Vec<ForeignKey>) = match conn {
            DbConn::Sqlite(c) => (
                diesel::sql_query(
                    "SELECT name, type AS decl, \"notnull\" AS required FROM pragma_table_info(?) ORDER BY cid",
                )
                .bind::<Text, _>(name)
                .load(c)?,
                diesel::sql_query(
                    "SELECT \"from\" AS col, \"table\" AS target FROM pragma_foreign_key_list(?)",
                )
                .bind::<Text, _>(name)
                .load(c)?,
            ),
            DbConn::Pg(c) => (
                diesel::sql_query(
                    "SELECT column_name::text AS name, data_type::text AS decl, \
                     CASE WHEN is_nullable = 'NO' THEN 1::bigint ELSE 0::bigint END AS required \
                     FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                       AND is_generated = 'NEVER' \
                     ORDER BY ordinal_position",
                )
                .bind::<Text, _>(name)
                .load(c)?,
                diesel::sql_query(
                    "SELECT a.attname::text AS col, r.relname::text AS target \
                     FROM pg_constraint k \
                     JOIN pg_class t ON t.oid = k.conrelid \
                     JOIN pg_class r ON r.oid = k.confrelid \
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
                     WHERE k.contype = 'f' AND t.relname = $1 \
                       AND t.relnamespace = current_schema()::regnamespace",
                )
                .bind::<Text, _>(name)
                .load(c)?,
            ),
        };
        if cols.is_empty() {
            return Err(Error::Internal(format!("the database has no table {name}")));
        }
        let columns: Vec<Column> = cols
            .into_iter()
            .map(|c| Column {
                kind: Kind::of(&c.decl),
                nullable: c.required == 0,
                name: c.name,
            })
            .collect();
        let late = fks
            .into_iter()
            .filter(|fk| {
                let pos = tables.iter().position(|t| *t == fk.target);
                pos.is_none_or(|p| p >= i) && columns.iter().any(|c| c.name == fk.col && c.nullable)
            })
            .map(|fk| fk.col)
            .collect();
        out.push(Table {
            name,
            columns,
            late,
        });
    }
    Ok(out)
}

/// How big a batch of rows one statement dumps or loads.
pub const BATCH: usize = 5_000;

/// Calls `each` with every row of `table` as a JSON object's text, in batches, inside the
/// caller's read transaction.
pub fn dump(
    conn: &mut DbConn,
    table: &Table,
    mut each: impl FnMut(&str) -> Result<()>,
) -> Result<u64> {
    let mut n = 0u64;
    match conn {
        DbConn::Sqlite(c) => {
            let (from, fields): (&str, Vec<String>) = if table.name == SEARCH {
                (
                    "search_fts",
                    vec![
                        "'doc_id', rowid".into(),
                        "'title', title".into(),
                        "'body', body".into(),
                        "'slug', slug".into(),
                    ],
                )
            } else {
                (
                    table.name,
                    table
                        .columns
                        .iter()
                        .map(|col| {
                            let c = &col.name;
                            match col.kind {
                                Kind::Bool => format!(
                                    "'{c}', CASE WHEN \"{c}\" IS NULL THEN NULL WHEN \"{c}\" THEN json('true') ELSE json('false') END"
                                ),
                                Kind::Timestamp => format!("'{c}', replace(\"{c}\", ' ', 'T')"),
                                _ => format!("'{c}', \"{c}\""),
                            }
                        })
                        .collect(),
                )
            };
            let sql = format!(
                "SELECT rowid AS r, json_object({}) AS j FROM {from} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}",
                fields.join(", ")
            );
            let mut after = i64::MIN;
            loop {
                let rows: Vec<JsonRow> =
                    diesel::sql_query(&sql).bind::<BigInt, _>(after).load(c)?;
                for r in &rows {
                    each(&r.j)?;
                    n += 1;
                }
                match rows.last() {
                    Some(r) if rows.len() == BATCH => after = r.r,
                    _ => break,
                }
            }
        }
        DbConn::Pg(c) => {
            let from = if table.name == SEARCH {
                "search_documents"
            } else {
                table.name
            };
            let cols: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("\"{}\"", c.name))
                .collect();
            c.batch_execute(&format!(
                "DECLARE keepsake_export NO SCROLL CURSOR FOR \
                 SELECT row_to_json(x)::text AS j FROM (SELECT {} FROM {from} ORDER BY 1) x",
                cols.join(", ")
            ))?;
            loop {
                let rows: Vec<JsonOnly> =
                    diesel::sql_query(format!("FETCH {BATCH} FROM keepsake_export")).load(c)?;
                for r in &rows {
                    each(&r.j)?;
                    n += 1;
                }
                if rows.len() < BATCH {
                    break;
                }
            }
            c.batch_execute("CLOSE keepsake_export")?;
        }
    }
    Ok(n)
}

/// Checks one row of a file against the table: an object with exactly the table's columns,
/// each of its kind, null only where the column allows it.
pub fn check_row(table: &Table, row: &serde_json::Value) -> std::result::Result<(), String> {
    let obj = row
        .as_object()
        .ok_or_else(|| "a line is not a JSON object".to_string())?;
    if let Some(k) = obj
        .keys()
        .find(|k| !table.columns.iter().any(|c| &c.name == *k))
    {
        return Err(format!("'{k}' is not a column of {}", table.name));
    }
    for col in &table.columns {
        let v = obj.get(&col.name).unwrap_or(&serde_json::Value::Null);
        let ok = match (v, col.kind) {
            (serde_json::Value::Null, _) => col.nullable,
            (serde_json::Value::Number(n), Kind::Int) => n.is_i64(),
            (serde_json::Value::Number(_), Kind::Real) => true,
            (serde_json::Value::Bool(_), Kind::Bool) => true,
            (serde_json::Value::String(s), Kind::Text) => !s.contains('\0'),
            (serde_json::Value::String(s), Kind::Timestamp) => {
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            }
            (serde_json::Value::String(s), Kind::Date) => {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "'{}' is {} ({} expected{})",
                col.name,
                if v.is_null() {
                    "missing or null"
                } else {
                    "of the wrong kind"
                },
                match col.kind {
                    Kind::Int => "a whole number",
                    Kind::Real => "a number",
                    Kind::Bool => "true or false",
                    Kind::Text => "text",
                    Kind::Timestamp => "a time like 2026-11-29T23:15:00",
                    Kind::Date => "a date like 2026-11-29",
                },
                if col.nullable { " or null" } else { "" }
            ));
        }
    }
    Ok(())
}

/// Inserts a batch of checked rows (a JSON array's text) into `table`, its late columns left
/// null, inside the caller's transaction.
pub fn load(conn: &mut DbConn, table: &Table, batch: &str) -> Result<()> {
    let is_late = |c: &Column| table.late.contains(&c.name);
    match conn {
        DbConn::Sqlite(c) => {
            let (into, names): (&str, Vec<String>) = if table.name == SEARCH {
                (
                    "search_fts",
                    vec!["rowid".into(), "title".into(), "body".into(), "slug".into()],
                )
            } else {
                (
                    table.name,
                    table
                        .columns
                        .iter()
                        .map(|c| format!("\"{}\"", c.name))
                        .collect(),
                )
            };
            let values: Vec<String> = table
                .columns
                .iter()
                .map(|col| {
                    let v = format!("json_extract(value, '$.\"{}\"')", col.name);
                    if is_late(col) {
                        "NULL".into()
                    } else if col.kind == Kind::Timestamp {
                        format!("replace({v}, 'T', ' ')")
                    } else {
                        v
                    }
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO {into} ({}) SELECT {} FROM json_each(?)",
                names.join(", "),
                values.join(", ")
            ))
            .bind::<Text, _>(batch)
            .execute(c)?;
        }
        DbConn::Pg(c) => {
            let into = if table.name == SEARCH {
                "search_documents"
            } else {
                table.name
            };
            let names: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("\"{}\"", c.name))
                .collect();
            let values: Vec<String> = table
                .columns
                .iter()
                .map(|c| {
                    if is_late(c) {
                        "NULL".into()
                    } else {
                        format!("j.\"{}\"", c.name)
                    }
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO {into} ({}) SELECT {} FROM json_populate_recordset(NULL::{into}, $1::json) j",
                names.join(", "),
                values.join(", ")
            ))
            .bind::<Text, _>(batch)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Sets one late column from a batch of `{"id": …, "<column>": …}` objects.
pub fn load_late(conn: &mut DbConn, table: &Table, column: &str, batch: &str) -> Result<()> {
    match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query(format!(
                "UPDATE {t} SET \"{column}\" = (SELECT json_extract(value, '$.\"{column}\"') FROM json_each(?) \
                 WHERE json_extract(value, '$.id') = {t}.id) \
                 WHERE id IN (SELECT json_extract(value, '$.id') FROM json_each(?))",
                t = table.name
            ))
            .bind::<Text, _>(batch)
            .bind::<Text, _>(batch)
            .execute(c)?;
        }
        DbConn::Pg(c) => {
            diesel::sql_query(format!(
                "UPDATE {t} SET \"{column}\" = j.\"{column}\" \
                 FROM json_populate_recordset(NULL::{t}, $1::json) j WHERE {t}.id = j.id",
                t = table.name
            ))
            .bind::<Text, _>(batch)
            .execute(c)?;
        }
    }
    Ok(())
}

/// The id counters: the highest id each table ever handed out (deleted rows included), so an
/// import never gives a new row an id a deleted one had.
pub fn sequences(conn: &mut DbConn, tables: &[Table]) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    match conn {
        DbConn::Sqlite(c) => {
            let rows: Vec<Seq> =
                diesel::sql_query("SELECT name, seq AS n FROM sqlite_sequence ORDER BY name")
                    .load(c)?;
            out.extend(
                rows.into_iter()
                    .filter(|s| tables.iter().any(|t| t.name == s.name))
                    .map(|s| (s.name, s.n)),
            );
        }
        DbConn::Pg(c) => {
            for t in tables
                .iter()
                .filter(|t| t.name != SEARCH && t.columns.iter().any(|c| c.name == "id"))
            {
                let rows: Vec<Seq> = diesel::sql_query(
                    "SELECT $1 AS name, COALESCE(pg_sequence_last_value(\
                     pg_get_serial_sequence($1, 'id')::regclass), 0)::bigint AS n",
                )
                .bind::<Text, _>(t.name)
                .load(c)?;
                out.extend(rows.into_iter().filter(|s| s.n > 0).map(|s| (s.name, s.n)));
            }
        }
    }
    Ok(out)
}

/// Sets a table's id counter to at least `n` and at least its highest id (`n` = 0: just the
/// highest id; SQLite keeps that by itself).
pub fn set_sequence(conn: &mut DbConn, table: &Table, n: i64) -> Result<()> {
    match conn {
        DbConn::Sqlite(c) => {
            if n < 1 {
                return Ok(());
            }
            diesel::sql_query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?")
                .bind::<BigInt, _>(n)
                .bind::<Text, _>(table.name)
                .execute(c)?;
            diesel::sql_query(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
            )
            .bind::<Text, _>(table.name)
            .bind::<BigInt, _>(n)
            .bind::<Text, _>(table.name)
            .execute(c)?;
        }
        DbConn::Pg(c) => {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), v) \
                 FROM (SELECT GREATEST($2, COALESCE(MAX(id), 0)) AS v FROM {}) x WHERE v >= 1",
                table.name
            ))
            .bind::<Text, _>(table.name)
            .bind::<BigInt, _>(n)
            .execute(c)?;
        }
    }
    Ok(())
}

/// The tables whose rows carry an `id` from a counter.
pub fn with_ids(tables: &[Table]) -> impl Iterator<Item = &Table> {
    tables
        .iter()
        .filter(|t| t.name != SEARCH && t.columns.iter().any(|c| c.name == "id"))
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

/// A table's secondary indexes as the statements that make them (name, SQL) — not its primary
/// key nor the indexes that back a constraint. A bulk load drops them first and builds them
/// again at the end: one sort each instead of an update per row (unique ones are checked then).
pub fn secondary_indexes(conn: &mut DbConn, table: &Table) -> Result<Vec<(String, String)>> {
    if table.name == SEARCH {
        return Ok(Vec::new());
    }
    let rows: Vec<IndexRow> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        )
        .bind::<Text, _>(table.name)
        .load(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i \
             WHERE i.schemaname = current_schema() AND i.tablename = $1 \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
                 WHERE k.conrelid = $1::regclass AND k.conname = i.indexname) \
             ORDER BY i.indexname",
        )
        .bind::<Text, _>(table.name)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| (r.name, r.sql)).collect())
}

/// Drops the named index (a name read from the database's catalogue).
pub fn drop_index(conn: &mut DbConn, name: &str) -> Result<()> {
    conn.batch_execute(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Dangling {
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = Text)]
    p: String,
}

/// On SQLite, whose references are not checked row by row during a load: a row that refers
/// to one that is not there, as a sentence. PostgreSQL has checked each reference already.
pub fn dangling_reference(conn: &mut DbConn) -> Result<Option<String>> {
    let DbConn::Sqlite(c) = conn else {
        return Ok(None);
    };
    let rows: Vec<Dangling> = diesel::sql_query(
        "SELECT \"table\" AS t, parent AS p FROM pragma_foreign_key_check LIMIT 1",
    )
    .load(c)?;
    Ok(rows.into_iter().next().map(|d| {
        format!(
            "has a row in {} that refers to a missing row of {}",
            d.t, d.p
        )
    }))
}
