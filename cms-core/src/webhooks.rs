//! Webhooks: the change stream (`models::change`) sent to endpoints the admins register,
//! following the Standard Webhooks convention (<https://www.standardwebhooks.com/>): a JSON
//! body `{"type", "timestamp", "data"}` and the headers `webhook-id` (stable across retries:
//! receivers drop duplicates by it), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the
//! hook's `whsec_` secret).
//!
//! Durable and shared by the nodes: [`plan`] turns each hook's new events into delivery rows
//! in one transaction that also moves the hook's cursor (only if no other node moved it
//! first); [`deliver_due`] claims due rows with a lease, as the outbox does, so a killed node's
//! deliveries are taken over when the lease ends. At least once, in order per item (a
//! delivery waits while an earlier one about the same item is not done), retried with backoff
//! for [`RETRY_FOR`]; a hook whose deliveries have failed that long is disabled, with the
//! reason. Imported content's (quiet) events are not sent: moving a site in is not news.
//!
//! Request forgery: only http and https, no credentials in the address, every address the
//! host resolves to public unless `CMS_WEBHOOK_ALLOW_PRIVATE=true` (checked on the addresses
//! connected to), redirects not followed, [`TIMEOUT`] for the exchange, at most
//! [`MAX_ANSWER`] bytes of an answer read.

use std::time::Duration as StdDuration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::SecretKey;
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::import::fetch::{Fetcher, checked};
use crate::models::change::{self, ChangeEvent, EventKind};
use crate::models::webhook::{self, Delivery, NewDelivery, Webhook};

/// How long a delivery is retried before it fails for good (and its hook is disabled).
pub const RETRY_FOR: Duration = Duration::hours(24);
/// A claimed delivery's lease.
pub const LEASE: Duration = Duration::seconds(60);
/// The whole exchange with a receiver.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// The most of a receiver's answer read (kept for the delivery log).
pub const MAX_ANSWER: u64 = 4096;
/// Events planned per hook per pass.
const PLAN_BATCH: i64 = 500;
/// Deliveries claimed per batch.
const CLAIM_BATCH: i64 = 64;
/// Deliveries sent at once by a node (receivers are often slow; each waits on its own).
pub const SENDERS: usize = 8;
/// The kind of a test delivery.
pub const PING: &str = "webhook.ping";

/// A fresh signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", B64.encode(bytes))
}

/// The `webhook-signature` of a message: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed with the secret's bytes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| Error::Internal("a webhook secret is not base64".into()))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Internal(format!("hmac: {e}")))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Checks what an admin gives for a new hook: the address and the event types.
pub fn validate(url: &str, events: &[String]) -> Result<()> {
    let mut problems = Vec::new();
    if url.chars().count() > 2000 {
        problems.push(("url", "must be at most 2000 characters".to_string()));
    } else if let Err(why) = checked(url) {
        problems.push(("url", why));
    }
    for e in events {
        if e.parse::<EventKind>().is_err() {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            problems.push((
                "events",
                format!("'{e}' is not an event type (one of {})", known.join(", ")),
            ));
            break;
        }
    }
    match problems.as_slice() {
        [] => Ok(()),
        [(field, msg)] => Err(Error::invalid(field, msg.clone())),
        _ => Err(Error::Fields(problems)),
    }
}

/// The longest description a hook may have (the API's `maxLength`).
pub const DESCRIPTION_MAX: usize = 200;

/// Registers a hook for the events from now on; returns it and its secret (shown once).
pub fn add(
    conn: &mut DbConn,
    key: &SecretKey,
    url: &str,
    events: &[String],
    description: &str,
) -> Result<(Webhook, String)> {
    let url = url.trim();
    let mut events: Vec<String> = events
        .iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    events.sort();
    events.dedup();
    validate(url, &events)?;
    let secret = new_secret();
    let sealed = crate::two_factor::seal(key, secret.as_bytes());
    let description = description.trim();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(Error::invalid(
            "description",
            format!("is longer than {DESCRIPTION_MAX} characters"),
        ));
    }
    let from = change::last_id(conn)?;
    let hook = webhook::create(conn, url, &events, &sealed, description, from)?;
    Ok((hook, secret))
}

/// Queues a test delivery (`webhook.ping`) to a hook.
pub fn ping(conn: &mut DbConn, hook: &Webhook, base_url: &str) -> Result<()> {
    let t = crate::models::now();
    let body = serde_json::json!({
        "type": PING,
        "timestamp": crate::api::views::iso(t),
        "data": { "webhook_id": hook.id, "site": base_url },
    });
    let nonce = &crate::tokens::random_token()[..12];
    webhook::enqueue(
        conn,
        &[NewDelivery {
            webhook_id: hook.id,
            event_id: 0,
            message_id: format!("msg_ping_{}_{nonce}", hook.id),
            item_key: format!("ping:{}", hook.id),
            kind: PING.into(),
            payload: body.to_string(),
        }],
        t,
    )?;
    Ok(())
}

/// The body sent for an event: its type, time, and data as the change feed shows it (with
/// absolute URLs).
fn body_of(e: &ChangeEvent, base_url: &str) -> String {
    let mut data = e.payload_json();
    if let Some(path) = data.get("path").and_then(|p| p.as_str()) {
        data["url"] = format!("{base_url}{path}").into();
    }
    data["event_id"] = e.id.into();
    data["item"] = serde_json::json!({ "type": e.item_type, "id": e.item_id });
    serde_json::json!({
        "type": e.kind,
        "timestamp": crate::api::views::iso(e.created_at),
        "data": data,
    })
    .to_string()
}

/// Turns the new events of every enabled hook into deliveries; how many were queued. Reads
/// first: with nothing new (a node's usual state) it writes nothing.
pub fn plan(db: &Db, base_url: &str) -> Result<usize> {
    let (hooks, newest) = {
        let mut conn = db.conn()?;
        (webhook::all(&mut conn)?, change::last_id(&mut conn)?)
    };
    let mut queued = 0;
    for h in hooks.into_iter().filter(|h| h.enabled && h.cursor < newest) {
        loop {
            let n = db.write_blocking(|conn| -> Result<Option<(usize, i64)>> {
                let Some(h) = webhook::find(conn, h.id)? else {
                    return Ok(None);
                };
                let events = change::after(conn, h.cursor, PLAN_BATCH)?;
                let Some(last) = events.last().map(|e| e.id) else {
                    return Ok(None);
                };
                let rows: Vec<NewDelivery> = events
                    .iter()
                    .filter(|e| !e.quiet && h.wants(&e.kind))
                    .map(|e| NewDelivery {
                        webhook_id: h.id,
                        event_id: e.id,
                        message_id: format!("msg_{}_{}", h.id, e.id),
                        item_key: format!("{}:{}", e.item_type, e.item_id),
                        kind: e.kind.clone(),
                        payload: body_of(e, base_url),
                    })
                    .collect();
                if !webhook::advance(conn, h.id, h.cursor, last)? {
                    // Another node planned these; nothing of ours is kept.
                    return Err(Error::Conflict("planned elsewhere".into()));
                }
                Ok(Some((webhook::enqueue(conn, &rows, db.now())?, last)))
            });
            match n {
                Ok(Some((n, last))) => {
                    queued += n;
                    if last >= newest {
                        break;
                    }
                }
                Ok(None) => break,
                Err(Error::Conflict(_)) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(queued)
}

/// When a delivery that failed its `attempts`-th time is tried again: 5 s, doubling, at most
/// an hour apart; `None` once it has been retried for [`RETRY_FOR`].
pub fn retry_at(d: &Delivery, attempts: i32, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let wait = Duration::seconds(5 * (1i64 << attempts.clamp(1, 20).saturating_sub(1)).min(720));
    let next = now + wait;
    (next < d.created_at + RETRY_FOR).then_some(next)
}

/// What one pass of [`deliver_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends the due deliveries this node can claim, as `owner`: up to [`SENDERS`] at once (one
/// item's deliveries are never claimed together: a later one waits for the earlier), each
/// outcome recorded the moment the receiver has answered, so a crash repeats at most the
/// deliveries in flight. Reads first: with nothing due it writes nothing.
pub fn deliver_due(db: &Db, fetcher: &Fetcher, key: &SecretKey, owner: &str) -> Result<Sent> {
    let mut sent = Sent::default();
    loop {
        let due = {
            let mut conn = db.conn()?;
            webhook::any_due(&mut conn, db.now())?
        };
        if !due || crate::shutdown::is_stopping() {
            return Ok(sent);
        }
        let claimed = db.write_blocking(|conn| {
            Ok::<_, Error>(webhook::claim_due(
                conn,
                owner,
                db.now(),
                LEASE,
                CLAIM_BATCH,
            )?)
        })?;
        if claimed.is_empty() {
            return Ok(sent);
        }
        let hooks: std::collections::HashMap<i64, Webhook> = {
            let mut conn = db.conn()?;
            webhook::all(&mut conn)?
                .into_iter()
                .map(|h| (h.id, h))
                .collect()
        };
        let batch = send_all(db, fetcher, key, owner, &hooks, &claimed)?;
        sent.delivered += batch.delivered;
        sent.retrying += batch.retrying;
        sent.failed += batch.failed;
    }
}

/// Sends `claimed`, [`SENDERS`] at a time, recording each outcome as it comes. What is not
/// sent because the process is stopping is handed back.
fn send_all(
    db: &Db,
    fetcher: &Fetcher,
    key: &SecretKey,
    owner: &str,
    hooks: &std::collections::HashMap<i64, Webhook>,
    claimed: &[Delivery],
) -> Result<Sent> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let (delivered, retrying, failed) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let errors = std::sync::Mutex::new(Vec::<Error>::new());
    std::thread::scope(|s| {
        for _ in 0..SENDERS.min(claimed.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(d) = claimed.get(i) else { return };
                    let recorded = if crate::shutdown::is_stopping() {
                        // Due again at once, for whoever comes.
                        db.write_blocking(|conn| {
                            Ok::<_, Error>(webhook::release(conn, d.id, owner)?)
                        })
                    } else if let Some(hook) = hooks.get(&d.webhook_id) {
                        let outcome = send_one(fetcher, key, hook, d);
                        let now = db.now();
                        let counter = match &outcome {
                            Outcome::Delivered(_) => &delivered,
                            Outcome::Failed(..) if retry_at(d, d.attempts + 1, now).is_some() => {
                                &retrying
                            }
                            _ => &failed,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        db.write_blocking(|conn| record_outcome(conn, owner, d, &outcome, now))
                    } else {
                        Ok(())
                    };
                    if let Err(e) = recorded {
                        errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = errors
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .next()
    {
        return Err(e);
    }
    Ok(Sent {
        delivered: delivered.into_inner(),
        retrying: retrying.into_inner(),
        failed: failed.into_inner(),
    })
}

/// Records what came of sending `d`: delivered, to be retried, or failed for good (its hook
/// disabled when it has failed for [`RETRY_FOR`], or at once when it cannot be used).
fn record_outcome(
    conn: &mut DbConn,
    owner: &str,
    d: &Delivery,
    outcome: &Outcome,
    now: NaiveDateTime,
) -> Result<()> {
    let hook = d.webhook_id;
    match outcome {
        Outcome::Delivered(status) => {
            webhook::record(conn, d.id, owner, true, Some(*status), None, None)?;
            webhook::note_outcome(conn, hook, true, now)?;
        }
        Outcome::Unusable(why) => {
            webhook::record(conn, d.id, owner, false, None, Some(why), None)?;
            webhook::set_disabled(conn, hook, Some(why))?;
        }
        Outcome::Failed(status, why) => {
            let next = retry_at(d, d.attempts + 1, now);
            webhook::record(conn, d.id, owner, false, *status, Some(why), next)?;
            webhook::note_outcome(conn, hook, false, now)?;
            let failing_for = webhook::find(conn, hook)?
                .and_then(|h| h.failing_since)
                .map(|since| now - since);
            if next.is_none() && failing_for.is_some_and(|f| f >= RETRY_FOR) {
                webhook::set_disabled(
                    conn,
                    hook,
                    Some(&format!(
                        "every delivery failed for 24 hours; the last: {why}"
                    )),
                )?;
            }
        }
    }
    Ok(())
}

enum Outcome {
    Delivered(u16),
    /// The receiver answered something else, or could not be reached: retried.
    Failed(Option<u16>, String),
    /// The hook itself cannot be used (its secret does not open): disabled.
    Unusable(String),
}

fn send_one(fetcher: &Fetcher, key: &SecretKey, hook: &Webhook, d: &Delivery) -> Outcome {
    let Ok(secret) = crate::two_factor::open(key, &hook.secret)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    else {
        return Outcome::Unusable(
            "the signing secret cannot be read with this site's secret key (was CMS_SECRET_KEY \
             changed?); remove the webhook and add it again"
                .into(),
        );
    };
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match sign(&secret, &d.message_id, timestamp, &d.payload) {
        Ok(s) => s,
        Err(e) => return Outcome::Unusable(e.to_string()),
    };
    let headers = [
        ("webhook-id", d.message_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    match fetcher.post_json(&hook.url, &headers, &d.payload) {
        Ok(a) if (200..300).contains(&a.status) => Outcome::Delivered(a.status),
        Ok(a) => {
            let said = answer_excerpt(&a.body);
            Outcome::Failed(
                Some(a.status),
                if said.is_empty() {
                    format!("the receiver answered {}", a.status)
                } else {
                    format!("the receiver answered {}: {said}", a.status)
                },
            )
        }
        Err(why) => Outcome::Failed(None, why),
    }
}

/// A fetcher with the webhook guards; private addresses only when allowed.
pub fn fetcher(allow_private: bool) -> Fetcher {
    Fetcher::for_posts(allow_private, TIMEOUT, MAX_ANSWER)
}

/// What the admin is shown of a failed answer: its first 200 characters, control characters
/// (an escape sequence, a NUL) as spaces, runs of white space as one.
fn answer_excerpt(body: &str) -> String {
    let cleaned: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_answer_is_shown_short_and_without_control_characters() {
        assert_eq!(
            super::answer_excerpt("  \u{1b}[31mno\u{0}pe –\r\n\t\"<b>\"  "),
            "[31mno pe – \"<b>\""
        );
        assert_eq!(super::answer_excerpt(&"A".repeat(6000)).len(), 200);
        assert_eq!(super::answer_excerpt(""), "");
    }

    use super::*;

    fn queued_at(created_at: NaiveDateTime) -> Delivery {
        Delivery {
            id: 1,
            webhook_id: 1,
            event_id: 1,
            message_id: "msg_1_1".into(),
            item_key: "post:1".into(),
            kind: "post.published".into(),
            payload: "{}".into(),
            status: "queued".into(),
            attempts: 0,
            next_at: created_at,
            lease_owner: None,
            lease_until: None,
            last_status: None,
            last_error: None,
            created_at,
            finished_at: None,
        }
    }

    #[test]
    fn retries_wait_five_seconds_doubling_to_an_hour_for_a_day() {
        let start = chrono::DateTime::from_timestamp(1_780_000_000, 0)
            .expect("a time")
            .naive_utc();
        let d = queued_at(start);
        let wait = |attempts: i32, now: NaiveDateTime| {
            retry_at(&d, attempts, now).map(|t| (t - now).num_seconds())
        };
        // 5, 10, 20, … seconds after each failure.
        let waits: Vec<i64> = (1..=10).filter_map(|n| wait(n, start)).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560]);
        // Never more than an hour apart, however many failures.
        assert_eq!(wait(11, start), Some(3600));
        assert_eq!(wait(40, start), Some(3600));
        // Until a day after it was queued; then it fails for good.
        let late = start + RETRY_FOR - Duration::minutes(30);
        assert_eq!(wait(3, late), Some(20));
        assert_eq!(
            wait(12, late),
            None,
            "an hour's wait would end after the day"
        );
        assert_eq!(wait(1, start + RETRY_FOR), None);
    }
}
