//! Email subscribers: double opt-in, topics, signed links to manage or end a subscription.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, text_enum};
use crate::config::SecretKey;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{subscriber_topics, subscribers};
use crate::tokens::{hash_token, random_token, sign, verify};

text_enum! {
    /// What a subscriber can choose to hear about.
    pub enum Topic {
        News = "news",
        Gallery = "gallery",
        Videos = "videos",
    }
}

text_enum! {
    /// How often a topic is sent: each update as it happens, or gathered into a digest.
    pub enum Cadence {
        Immediate = "immediate",
        Daily = "daily",
        Weekly = "weekly",
    }
}

impl Cadence {
    /// What readers see: "As it happens", "Daily digest", "Weekly digest".
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Immediate => "As it happens",
            Cadence::Daily => "Daily digest",
            Cadence::Weekly => "Weekly digest",
        }
    }
}

/// A topic and how often it is sent. Written `gallery` (as it happens) or `gallery:weekly`
/// in CSV files and forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choice {
    pub topic: Topic,
    pub cadence: Cadence,
}

impl Choice {
    pub fn new(topic: Topic, cadence: Cadence) -> Choice {
        Choice { topic, cadence }
    }

    /// Each of `topics` as it happens.
    pub fn immediate(topics: &[Topic]) -> Vec<Choice> {
        topics
            .iter()
            .map(|t| Choice::new(*t, Cadence::Immediate))
            .collect()
    }
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (topic, cadence) = match s.trim().split_once(':') {
            Some((t, c)) => (t.trim(), c.trim().parse::<Cadence>()?),
            None => (s.trim(), Cadence::Immediate),
        };
        Ok(Choice::new(topic.parse()?, cadence))
    }
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cadence {
            Cadence::Immediate => f.write_str(self.topic.as_str()),
            c => write!(f, "{}:{}", self.topic.as_str(), c.as_str()),
        }
    }
}

text_enum! {
    /// Only confirmed subscribers receive updates.
    pub enum SubscriberStatus {
        Pending = "pending",
        Confirmed = "confirmed",
        Unsubscribed = "unsubscribed",
    }
}

/// How long a confirmation link stays valid.
pub const CONFIRM_TTL: Duration = Duration::days(3);
/// A pending address gets at most one confirmation email per this interval.
pub const RESEND_INTERVAL: Duration = Duration::minutes(15);

/// A stored subscriber.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = subscribers)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub status: SubscriberStatus,
    #[serde(skip)]
    pub confirm_token_hash: Option<String>,
    pub confirm_sent_at: Option<NaiveDateTime>,
    pub confirm_expires_at: Option<NaiveDateTime>,
    pub token_version: i32,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub unsubscribed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// Validates an address with a real parser and normalises it (trimmed, lower-cased: in
/// practice mailboxes ignore case, and one person must not end up subscribed twice).
/// Anything that could smuggle a header (CR, LF, a display name, several addresses) is refused.
pub fn parse_email(raw: &str) -> Result<String> {
    let e = raw.trim();
    if e.len() > 254
        || e.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == ',' || c == '<' || c == '>')
    {
        return Err(Error::invalid("email", "is not a valid email address"));
    }
    let addr: lettre::Address = e
        .parse()
        .map_err(|_| Error::invalid("email", "is not a valid email address"))?;
    if !addr.domain().contains('.') {
        return Err(Error::invalid("email", "needs a domain like example.org"));
    }
    Ok(format!("{}@{}", addr.user(), addr.domain()).to_lowercase())
}

/// What a sign-up led to. The page shown is the same in every case, so nobody learns
/// whether an address is subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUp {
    /// Send a confirmation email carrying this token.
    SendConfirmation { subscriber_id: i64, token: String },
    /// A confirmation went out recently: send nothing.
    RecentlySent,
    /// Already confirmed: send nothing (topics may have been added).
    AlreadyConfirmed,
}

/// Signs up an address for `topics`, each as it happens, or refreshes a pending sign-up.
pub fn sign_up(conn: &mut DbConn, email: &str, topics: &[Topic], source: &str) -> Result<SignUp> {
    sign_up_for(conn, email, &Choice::immediate(topics), source)
}

/// Signs up an address for the topics of `topics`, each at its cadence (a topic already
/// chosen takes the new cadence), or refreshes a pending sign-up.
pub fn sign_up_for(
    conn: &mut DbConn,
    email: &str,
    topics: &[Choice],
    source: &str,
) -> Result<SignUp> {
    let email = parse_email(email)?;
    if topics.is_empty() {
        return Err(Error::invalid("topics", "choose at least one topic"));
    }
    let t = now();
    let existing = find_by_email(conn, &email)?;
    let token = random_token();
    let sub = match existing {
        Some(s) if s.status == SubscriberStatus::Confirmed => {
            add_topics(conn, s.id, topics)?;
            return Ok(SignUp::AlreadyConfirmed);
        }
        Some(s)
            if s.status == SubscriberStatus::Pending
                && s.confirm_sent_at.is_some_and(|at| at > t - RESEND_INTERVAL) =>
        {
            add_topics(conn, s.id, topics)?;
            return Ok(SignUp::RecentlySent);
        }
        Some(s) => {
            diesel::update(subscribers::table.find(s.id))
                .set((
                    subscribers::status.eq(SubscriberStatus::Pending),
                    subscribers::confirm_token_hash.eq(hash_token(&token)),
                    subscribers::confirm_sent_at.eq(t),
                    subscribers::confirm_expires_at.eq(t + CONFIRM_TTL),
                    subscribers::updated_at.eq(t),
                ))
                .execute(conn)?;
            if s.status == SubscriberStatus::Unsubscribed {
                set_choices(conn, s.id, topics)?;
            } else {
                add_topics(conn, s.id, topics)?;
            }
            s.id
        }
        None => {
            let id: i64 = diesel::insert_into(subscribers::table)
                .values((
                    subscribers::email.eq(&email),
                    subscribers::status.eq(SubscriberStatus::Pending),
                    subscribers::confirm_token_hash.eq(hash_token(&token)),
                    subscribers::confirm_sent_at.eq(t),
                    subscribers::confirm_expires_at.eq(t + CONFIRM_TTL),
                    subscribers::source.eq(source),
                    subscribers::created_at.eq(t),
                    subscribers::updated_at.eq(t),
                ))
                .returning(subscribers::id)
                .get_result(conn)?;
            set_choices(conn, id, topics)?;
            id
        }
    };
    Ok(SignUp::SendConfirmation {
        subscriber_id: sub,
        token,
    })
}

/// The pending subscriber a confirmation token belongs to, if the token is live.
pub fn find_by_confirm_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<Subscriber>> {
    subscribers::table
        .filter(subscribers::confirm_token_hash.eq(hash_token(token)))
        .filter(subscribers::confirm_expires_at.gt(now()))
        .filter(subscribers::status.eq(SubscriberStatus::Pending))
        .select(Subscriber::as_select())
        .first(conn)
        .optional()
}

/// Confirms the subscription a live token belongs to; the token is spent.
pub fn confirm(conn: &mut DbConn, token: &str) -> Result<Subscriber> {
    let sub = find_by_confirm_token(conn, token)?.ok_or(Error::NotFound("confirmation link"))?;
    let t = now();
    Ok(diesel::update(subscribers::table.find(sub.id))
        .set((
            subscribers::status.eq(SubscriberStatus::Confirmed),
            subscribers::confirm_token_hash.eq(None::<String>),
            subscribers::confirm_expires_at.eq(None::<NaiveDateTime>),
            subscribers::confirmed_at.eq(t),
            subscribers::unsubscribed_at.eq(None::<NaiveDateTime>),
            subscribers::updated_at.eq(t),
        ))
        .returning(subscribers::all_columns)
        .get_result::<Subscriber>(conn)?)
}

/// Records that an address left (an imported list's opt-out): a subscriber is unsubscribed, an
/// unknown address is kept as unsubscribed, so no later import or form of an admin's can sign
/// it up again. Returns true when it changed something.
pub fn import_unsubscribed(conn: &mut DbConn, email: &str, source: &str) -> Result<bool> {
    let email = parse_email(email)?;
    let t = now();
    match find_by_email(conn, &email)? {
        Some(s) if s.status == SubscriberStatus::Unsubscribed => Ok(false),
        Some(s) => {
            unsubscribe(conn, s.id)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(subscribers::table)
                .values((
                    subscribers::email.eq(&email),
                    subscribers::status.eq(SubscriberStatus::Unsubscribed),
                    subscribers::source.eq(source),
                    subscribers::created_at.eq(t),
                    subscribers::unsubscribed_at.eq(t),
                    subscribers::updated_at.eq(t),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Marks an address confirmed without an email, for imports whose consent is stated elsewhere,
/// with `topics` as they happen.
pub fn import_confirmed(
    conn: &mut DbConn,
    email: &str,
    topics: &[Topic],
    source: &str,
) -> Result<i64> {
    import_confirmed_for(conn, email, &Choice::immediate(topics), source)
}

/// [`import_confirmed`] with each topic's cadence.
pub fn import_confirmed_for(
    conn: &mut DbConn,
    email: &str,
    topics: &[Choice],
    source: &str,
) -> Result<i64> {
    let email = parse_email(email)?;
    let t = now();
    let id = match find_by_email(conn, &email)? {
        Some(s) => s.id,
        None => diesel::insert_into(subscribers::table)
            .values((
                subscribers::email.eq(&email),
                subscribers::status.eq(SubscriberStatus::Confirmed),
                subscribers::source.eq(source),
                subscribers::created_at.eq(t),
                subscribers::confirmed_at.eq(t),
                subscribers::updated_at.eq(t),
            ))
            .returning(subscribers::id)
            .get_result(conn)?,
    };
    add_topics(conn, id, topics)?;
    Ok(id)
}

/// The link token that lets its holder manage or end one subscription: the id, a version
/// (bumped to invalidate old links) and an HMAC of both under the site key.
pub fn manage_token(key: &SecretKey, sub: &Subscriber) -> String {
    let msg = format!("subscriber:{}:{}", sub.id, sub.token_version);
    format!("{}.{}.{}", sub.id, sub.token_version, sign(key, &msg))
}

/// The subscriber a manage token belongs to, if the token is genuine and current.
pub fn find_by_manage_token(
    conn: &mut DbConn,
    key: &SecretKey,
    token: &str,
) -> QueryResult<Option<Subscriber>> {
    let mut parts = token.splitn(3, '.');
    let (Some(id), Some(version), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (Ok(id), Ok(version)) = (id.parse::<i64>(), version.parse::<i32>()) else {
        return Ok(None);
    };
    if !verify(key, &format!("subscriber:{id}:{version}"), sig) {
        return Ok(None);
    }
    Ok(find(conn, id)?.filter(|s| s.token_version == version))
}

/// Ends a subscription. Nothing further is sent; queued messages are left to be skipped by
/// the sender, which checks the status.
pub fn unsubscribe(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    let t = now();
    diesel::update(subscribers::table.find(id))
        .set((
            subscribers::status.eq(SubscriberStatus::Unsubscribed),
            subscribers::unsubscribed_at.eq(t),
            subscribers::updated_at.eq(t),
        ))
        .execute(conn)
        .map(drop)
}

/// A subscriber by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Subscriber>> {
    subscribers::table
        .find(id)
        .select(Subscriber::as_select())
        .first(conn)
        .optional()
}

/// A subscriber by (normalised) email.
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Subscriber>> {
    subscribers::table
        .filter(subscribers::email.eq(email.trim().to_lowercase()))
        .select(Subscriber::as_select())
        .first(conn)
        .optional()
}

/// A subscriber's topics, in the order of [`Topic::ALL`].
pub fn topics_of(conn: &mut DbConn, id: i64) -> QueryResult<Vec<Topic>> {
    Ok(choices_of(conn, id)?.into_iter().map(|c| c.topic).collect())
}

/// A subscriber's topics with their cadences, in the order of [`Topic::ALL`].
pub fn choices_of(conn: &mut DbConn, id: i64) -> QueryResult<Vec<Choice>> {
    Ok(choices_for(conn, &[id])?.remove(&id).unwrap_or_default())
}

/// The topics and cadences of each subscriber in `ids`, each in the order of [`Topic::ALL`],
/// in one statement (a list page reads its rows' choices together, not one by one). A
/// subscriber without topics is absent from the map.
pub fn choices_for(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Vec<Choice>>> {
    let mut out: std::collections::HashMap<i64, Vec<Choice>> = Default::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, Topic, String)> = subscriber_topics::table
        .filter(subscriber_topics::subscriber_id.eq_any(ids))
        .select((
            subscriber_topics::subscriber_id,
            subscriber_topics::topic,
            subscriber_topics::cadence,
        ))
        .load(conn)?;
    for (id, topic, cadence) in rows {
        out.entry(id).or_default().push(Choice::new(
            topic,
            cadence.parse().unwrap_or(Cadence::Immediate),
        ));
    }
    for choices in out.values_mut() {
        choices.sort_by_key(|c| Topic::ALL.iter().position(|x| *x == c.topic));
    }
    Ok(out)
}

/// Replaces a subscriber's topics, each as it happens.
pub fn set_topics(conn: &mut DbConn, id: i64, topics: &[Topic]) -> QueryResult<()> {
    set_choices(conn, id, &Choice::immediate(topics))
}

/// Replaces a subscriber's topics and cadences.
pub fn set_choices(conn: &mut DbConn, id: i64, choices: &[Choice]) -> QueryResult<()> {
    diesel::delete(subscriber_topics::table.filter(subscriber_topics::subscriber_id.eq(id)))
        .execute(conn)?;
    add_topics(conn, id, choices)
}

/// Adds topics; one already chosen takes the cadence given (the latest choice counts).
fn add_topics(conn: &mut DbConn, id: i64, choices: &[Choice]) -> QueryResult<()> {
    let mut have = choices_of(conn, id)?;
    for c in choices {
        match have.iter_mut().find(|h| h.topic == c.topic) {
            // A topic given twice (a hand-made form) is added once.
            Some(h) if h.cadence == c.cadence => {}
            Some(h) => {
                h.cadence = c.cadence;
                diesel::update(
                    subscriber_topics::table
                        .filter(subscriber_topics::subscriber_id.eq(id))
                        .filter(subscriber_topics::topic.eq(c.topic)),
                )
                .set(subscriber_topics::cadence.eq(c.cadence.as_str()))
                .execute(conn)?;
            }
            None => {
                have.push(*c);
                diesel::insert_into(subscriber_topics::table)
                    .values((
                        subscriber_topics::subscriber_id.eq(id),
                        subscriber_topics::topic.eq(c.topic),
                        subscriber_topics::cadence.eq(c.cadence.as_str()),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Confirmed subscribers of `topic` as it happens who confirmed by `cutoff`, with ids after
/// `after_id`, in id order: one batch of a fan-out that resumes where it stopped.
pub fn confirmed_for_topic(
    conn: &mut DbConn,
    topic: Topic,
    cutoff: NaiveDateTime,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String)>> {
    subscribers::table
        .inner_join(subscriber_topics::table)
        .filter(subscriber_topics::topic.eq(topic))
        .filter(subscriber_topics::cadence.eq(Cadence::Immediate.as_str()))
        .filter(subscribers::status.eq(SubscriberStatus::Confirmed))
        .filter(subscribers::confirmed_at.le(cutoff))
        .filter(subscribers::id.gt(after_id))
        .order(subscribers::id.asc())
        .limit(limit)
        .select((subscribers::id, subscribers::email))
        .load(conn)
}

/// Confirmed subscribers with topics at `cadence` who confirmed by `cutoff`, with ids after
/// `after_id`, in id order, each with those topics: one batch of a digest's fan-out.
pub fn confirmed_for_cadence(
    conn: &mut DbConn,
    cadence: Cadence,
    cutoff: NaiveDateTime,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String, Vec<Topic>)>> {
    let people: Vec<(i64, String)> = subscribers::table
        .filter(subscribers::status.eq(SubscriberStatus::Confirmed))
        .filter(subscribers::confirmed_at.le(cutoff))
        .filter(subscribers::id.gt(after_id))
        .filter(diesel::dsl::exists(
            subscriber_topics::table
                .filter(subscriber_topics::subscriber_id.eq(subscribers::id))
                .filter(subscriber_topics::cadence.eq(cadence.as_str())),
        ))
        .order(subscribers::id.asc())
        .limit(limit)
        .select((subscribers::id, subscribers::email))
        .load(conn)?;
    let (Some(first), Some(last)) = (people.first(), people.last()) else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i64, Topic)> = subscriber_topics::table
        .filter(subscriber_topics::subscriber_id.between(first.0, last.0))
        .filter(subscriber_topics::cadence.eq(cadence.as_str()))
        .select((subscriber_topics::subscriber_id, subscriber_topics::topic))
        .load(conn)?;
    let mut topics: std::collections::HashMap<i64, Vec<Topic>> = Default::default();
    for (id, t) in rows {
        topics.entry(id).or_default().push(t);
    }
    Ok(people
        .into_iter()
        .map(|(id, email)| {
            let mut mine = topics.remove(&id).unwrap_or_default();
            mine.sort_by_key(|t| Topic::ALL.iter().position(|x| x == t));
            (id, email, mine)
        })
        .collect())
}

/// How many confirmed subscribers get digests of `cadence` (for at least one topic).
pub fn count_for_cadence(conn: &mut DbConn, cadence: Cadence) -> QueryResult<i64> {
    subscribers::table
        .filter(subscribers::status.eq(SubscriberStatus::Confirmed))
        .filter(diesel::dsl::exists(
            subscriber_topics::table
                .filter(subscriber_topics::subscriber_id.eq(subscribers::id))
                .filter(subscriber_topics::cadence.eq(cadence.as_str())),
        ))
        .count()
        .get_result(conn)
}

/// Deletes a subscriber; their outbox rows go with them (ON DELETE CASCADE).
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    if diesel::delete(subscribers::table.find(id)).execute(conn)? == 0 {
        return Err(Error::NotFound("subscriber"));
    }
    Ok(())
}

/// One page of subscribers, optionally filtered by status and an email search, and the total.
pub fn list(
    conn: &mut DbConn,
    search: Option<&str>,
    status: Option<SubscriberStatus>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Subscriber>, i64)> {
    let build = || {
        let mut q = subscribers::table.into_boxed();
        if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(
                crate::models::lower(subscribers::email)
                    .like(format!("%{escaped}%"))
                    .escape('\\'),
            );
        }
        if let Some(st) = status {
            q = q.filter(subscribers::status.eq(st));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .order(subscribers::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Subscriber::as_select())
        .load(conn)?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tricks_are_refused() {
        for bad in [
            "a@b.org\r\nBcc: victim@example.org",
            "a@b.org\nX: y",
            "Name <a@b.org>",
            "a@b.org, c@d.org",
            "no-at-sign",
            "a@localhost",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_email(" Fan@Example.ORG ").expect("valid"),
            "fan@example.org"
        );
    }
}
