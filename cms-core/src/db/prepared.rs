//! Hand-written SQL that diesel prepares once per connection. `sql_query` is never put in
//! diesel's statement cache (its text could be anything), so a page that used one would have
//! it parsed and planned on every request; on PostgreSQL the lateral joins that read many
//! albums' thumbnails at once cost more to plan than to run. [`Sql`] is cached by its text,
//! which is a constant: one prepared statement per connection. The text numbers its values
//! `$1`, `$2`, … on either backend; lists (`= ANY`, `unnest`) are PostgreSQL's only.
//!
//! A prepared statement is planned once only if PostgreSQL finds its generic plan no dearer
//! than one made for the values at hand. For a statement with a list that is never so: a plan
//! that knows the list's length (and the limit's value) always looks cheaper, so it is planned
//! again at every execution — for the strips statement, twice what running it costs. Such
//! statements read their values through `(SELECT $n)`: PostgreSQL cannot see through it, so
//! both plans are the same and the generic one is kept.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

/// A value for a `$n` placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Text(&'a str),
    BigInt(i64),
    Bool(bool),
    Texts(&'a [String]),
    BigInts(&'a [i64]),
    Stamps(&'a [Option<NaiveDateTime>]),
}

/// A constant statement and its values: `$1` is the first of `binds`, and so on. Load it into
/// a `QueryableByName` row type.
#[derive(Debug)]
pub struct Sql<'a> {
    text: &'static str,
    binds: &'a [Bind<'a>],
}

/// `text` with `binds` for its placeholders.
pub fn sql<'a>(text: &'static str, binds: &'a [Bind<'a>]) -> Sql<'a> {
    Sql { text, binds }
}

fn builder_error(why: String) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(why.into())
}

impl<'a> Sql<'a> {
    /// Writes the text, each `$n` as the backend's next placeholder bound by `bind` to the
    /// n-th value (so one value may be used twice).
    fn walk<'b, DB: Backend>(
        &'b self,
        out: &mut AstPass<'_, 'b, DB>,
        mut bind: impl FnMut(&mut AstPass<'_, 'b, DB>, &'b Bind<'a>) -> QueryResult<()>,
    ) -> QueryResult<()> {
        let mut rest = self.text;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - at - 1);
            let n: usize = rest[at + 1..at + 1 + digits]
                .parse()
                .map_err(|_| builder_error(format!("a bare '$' in {}", self.text)))?;
            let value = n
                .checked_sub(1)
                .and_then(|i| self.binds.get(i))
                .ok_or_else(|| builder_error(format!("no value for ${n} in {}", self.text)))?;
            bind(out, value)?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl QueryFragment<Pg> for Sql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(&mut out, |out, value| match value {
            Bind::Text(v) => out.push_bind_param::<Text, _>(v),
            Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
            Bind::Bool(v) => out.push_bind_param::<Bool, _>(v),
            Bind::Texts(v) => out.push_bind_param::<Array<Text>, _>(v),
            Bind::BigInts(v) => out.push_bind_param::<Array<BigInt>, _>(v),
            Bind::Stamps(v) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(v),
        })
    }
}

impl QueryFragment<Sqlite> for Sql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let text = self.text;
        self.walk(&mut out, |out, value| match value {
            Bind::Text(v) => out.push_bind_param::<Text, _>(v),
            Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
            Bind::Bool(v) => out.push_bind_param::<Bool, _>(v),
            Bind::Texts(_) | Bind::BigInts(_) | Bind::Stamps(_) => {
                Err(builder_error(format!("SQLite has no lists: {text}")))
            }
        })
    }
}

// Cached by its SQL text, which is always the same: one prepared statement per connection.
impl QueryId for Sql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<PgConnection> for Sql<'_> {}
impl RunQueryDsl<SqliteConnection> for Sql<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::query_builder::QueryBuilder;

    fn text_of(q: &Sql<'_>) -> String {
        let mut b = diesel::pg::PgQueryBuilder::default();
        q.to_sql(&mut b, &Pg).expect("sql");
        b.finish()
    }

    #[test]
    fn placeholders_are_the_backends() {
        let binds = [Bind::BigInt(1), Bind::Text("x")];
        let mut b = diesel::sqlite::SqliteQueryBuilder::new();
        sql("SELECT $2, $1", &binds)
            .to_sql(&mut b, &Sqlite)
            .expect("sql");
        assert_eq!(b.finish(), "SELECT ?, ?");
        let list = [Bind::BigInts(&[1, 2])];
        assert!(
            sql("SELECT $1", &list)
                .to_sql(&mut diesel::sqlite::SqliteQueryBuilder::new(), &Sqlite)
                .is_err()
        );
    }

    #[test]
    fn placeholders_are_numbered_in_order() {
        let binds = [Bind::BigInt(1), Bind::Text("x")];
        assert_eq!(
            text_of(&sql("SELECT $2 || 'a', $1, $2", &binds)),
            "SELECT $1 || 'a', $2, $3"
        );
        assert!(
            sql("SELECT $3", &binds)
                .to_sql(&mut diesel::pg::PgQueryBuilder::default(), &Pg)
                .is_err()
        );
        assert!(
            sql("SELECT '$'", &binds)
                .to_sql(&mut diesel::pg::PgQueryBuilder::default(), &Pg)
                .is_err()
        );
    }
}
