//! Server-side admin sessions. The cookie holds a random id; the table holds its SHA-256, so
//! reading the table does not give anyone a live session.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::sessions;
use crate::tokens::{hash_token, random_token};

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session just created: the raw id goes into the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct Created {
    pub cookie_value: String,
    pub session: Session,
}

/// Starts a session for a user that ends at `now + absolute` at the latest.
pub fn create(
    conn: &mut DbConn,
    user_id: i64,
    absolute: Duration,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> QueryResult<Created> {
    let cookie_value = random_token();
    let t = now();
    let session = diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(hash_token(&cookie_value)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(random_token()),
            sessions::created_at.eq(t),
            sessions::last_seen_at.eq(t),
            sessions::expires_at.eq(t + absolute),
            sessions::ip.eq(ip),
            sessions::user_agent.eq(user_agent.map(|s| s.chars().take(255).collect::<String>())),
        ))
        .returning(sessions::all_columns)
        .get_result(conn)?;
    Ok(Created {
        cookie_value,
        session,
    })
}

/// The live session for a cookie value: not past its absolute expiry and seen within `idle`.
pub fn find_live(
    conn: &mut DbConn,
    cookie_value: &str,
    idle: Duration,
) -> QueryResult<Option<Session>> {
    let t = now();
    sessions::table
        .find(hash_token(cookie_value))
        .filter(sessions::expires_at.gt(t))
        .filter(sessions::last_seen_at.gt(t - idle))
        .select(Session::as_select())
        .first(conn)
        .optional()
}

/// Marks a session as used now (extends its idle window).
pub fn touch(conn: &mut DbConn, id_hash: &str) -> QueryResult<()> {
    diesel::update(sessions::table.find(id_hash))
        .set(sessions::last_seen_at.eq(now()))
        .execute(conn)
        .map(drop)
}

/// Ends one session (logout).
pub fn delete(conn: &mut DbConn, id_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id_hash)).execute(conn)
}

/// Ends every session of a user (password change, disabling), except `keep` if given.
pub fn delete_for_user(conn: &mut DbConn, user_id: i64, keep: Option<&str>) -> QueryResult<usize> {
    let q = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(k) => diesel::delete(q.filter(sessions::id_hash.ne(k))).execute(conn),
        None => diesel::delete(q).execute(conn),
    }
}

/// Deletes sessions past their absolute expiry.
pub fn purge_expired(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)
}
