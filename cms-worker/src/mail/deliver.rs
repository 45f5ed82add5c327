//! The delivery worker: claims due outbox rows with a lease, composes them, sends them over
//! several connections at once (respecting a messages-per-second limit), and records each
//! outcome the moment the server has answered, before the next message on that connection:
//! sent; retried later with exponential backoff after a temporary failure (4xx, no
//! connection); failed for good with the server's reply after a permanent one (5xx). A crash
//! can therefore send again only the messages in flight — at most one per open connection:
//! accepted by the server, not yet recorded. Its other claimed rows are sent by the next
//! worker: at once when the crashed process was on the same machine (`cms_core::leases`),
//! else when the lease runs out. A round claims no more than the rate lets it send well within
//! its lease. When the node stops (`cms_core::shutdown`), each connection finishes and records
//! the message it is sending and hands the rest of its share back: nothing is sent twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use cms_core::AppState;
use cms_core::models::now;
use cms_core::models::outbox::{self, OutboxMessage};
use tokio::sync::Mutex;

use super::compose;
use super::transport::{self, SendError, Slot, Transport};

/// How long a worker holds the messages it claimed (a round sends them well within it).
pub const LEASE: Span = Span::minutes(1);
/// The most a round may take at the configured rate: claims are sized to it.
const ROUND_SECONDS: i64 = 20;
/// Attempts before a temporarily failing message is given up.
pub const MAX_ATTEMPTS: i32 = 10;
/// Messages claimed per connection per round.
const PER_CONNECTION: i64 = 64;

/// What happened to one message.
enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
    Discard,
}

/// Spaces sends to a rate.
struct Limiter {
    every: Option<Duration>,
    next: Mutex<Instant>,
}

impl Limiter {
    async fn wait(&self) {
        let Some(every) = self.every else { return };
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + every;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The state a worker keeps between rounds: its connections.
pub struct Deliverer {
    state: AppState,
    owner: String,
    transport: Transport,
    slots: Vec<Arc<Mutex<Slot>>>,
    limiter: Arc<Limiter>,
    /// Digests are composed once per choice of topics, not per round.
    cache: Arc<std::sync::Mutex<compose::Cache>>,
}

impl Deliverer {
    /// A worker named `owner` (unique per node).
    pub fn new(state: AppState, owner: String) -> Result<Deliverer, String> {
        let transport = Transport::from_config(&state.config)?;
        let n = state.config.mail.connections.max(1);
        let rate = state.config.mail.rate;
        Ok(Deliverer {
            owner,
            transport,
            slots: (0..n).map(|_| Arc::new(Mutex::new(Slot::new()))).collect(),
            limiter: Arc::new(Limiter {
                every: (rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(rate))),
                next: Mutex::new(Instant::now()),
            }),
            cache: Arc::default(),
            state,
        })
    }

    /// One round: claim, compose, send, record. Returns how many messages it handled.
    pub async fn round(&self) -> cms_core::Result<usize> {
        if cms_core::shutdown::is_stopping() {
            return Ok(0);
        }
        let owner = self.owner.clone();
        let mut limit = PER_CONNECTION * self.slots.len() as i64;
        if self.state.config.mail.rate > 0 {
            limit = limit.min(i64::from(self.state.config.mail.rate) * ROUND_SECONDS);
        }
        let t = self.state.db.now();
        let claimed: Vec<OutboxMessage> = self
            .state
            .db
            .write(move |c| Ok::<_, cms_core::Error>(outbox::claim_at(c, &owner, LEASE, limit, t)?))
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let n = claimed.len();
        let config = self.state.config.clone();
        let cache = self.cache.clone();
        let composed: Vec<(OutboxMessage, Result<Option<lettre::Message>, String>)> = self
            .state
            .db
            .run(move |conn| {
                // Images link the public media address when there is one, like the pages.
                let media = config.storage.media_public_url.clone();
                cms_core::thumbs::with_media_base(media.as_deref(), || {
                    let site = compose::site_title(conn)?;
                    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                    cache.new_round();
                    Ok::<_, cms_core::Error>(
                        claimed
                            .into_iter()
                            .map(|m| {
                                let r = compose::compose(conn, &config, &m, &mut cache, &site)
                                    .map_err(|e| e.to_string());
                                (m, r)
                            })
                            .collect(),
                    )
                })
            })
            .await?;
        // Spread over the connections: each sender works through its own share in order.
        let mut shares: Vec<Vec<(OutboxMessage, lettre::Message)>> =
            (0..self.slots.len()).map(|_| Vec::new()).collect();
        let mut outcomes: Vec<(OutboxMessage, Outcome)> = Vec::new();
        for (i, (m, r)) in composed.into_iter().enumerate() {
            match r {
                Ok(Some(msg)) => shares[i % self.slots.len()].push((m, msg)),
                Ok(None) => outcomes.push((m, Outcome::Discard)),
                Err(e) => outcomes.push((m, Outcome::Failed(format!("could not compose: {e}")))),
            }
        }
        let mut tasks = Vec::new();
        for (share, slot) in shares.into_iter().zip(self.slots.iter().cloned()) {
            if share.is_empty() {
                continue;
            }
            let transport = self.transport.clone();
            let limiter = self.limiter.clone();
            let (state, owner) = (self.state.clone(), self.owner.clone());
            tasks.push(tokio::spawn(async move {
                let mut slot = slot.lock().await;
                let mut down: Option<String> = None;
                let mut unsent = Vec::new();
                for (m, msg) in share {
                    if cms_core::shutdown::is_stopping() {
                        // The node is stopping: what this connection has not begun goes back.
                        unsent.push(m.id);
                        continue;
                    }
                    if let Some(why) = &down {
                        // The server is unreachable: do not hammer it; retry the rest later.
                        record(&state, &owner, vec![(m, Outcome::Retry(why.clone()))]).await?;
                        continue;
                    }
                    limiter.wait().await;
                    if cms_core::shutdown::is_stopping() {
                        unsent.push(m.id);
                        continue;
                    }
                    let outcome = match transport::send(&transport, &mut slot, &msg).await {
                        Ok(()) => Outcome::Sent,
                        Err(SendError::Permanent(e)) => {
                            state.metrics.smtp_error();
                            Outcome::Failed(e)
                        }
                        Err(SendError::Transient(e)) => {
                            state.metrics.smtp_error();
                            if e.starts_with("cannot connect") || e.contains("timed out") {
                                down = Some(e.clone());
                            }
                            Outcome::Retry(e)
                        }
                    };
                    // Recorded before the next message: a crash can repeat only this one.
                    record(&state, &owner, vec![(m, outcome)]).await?;
                }
                if !unsent.is_empty() {
                    let owner = owner.clone();
                    let n = state
                        .db
                        .write(move |c| {
                            Ok::<_, cms_core::Error>(outbox::release(c, &unsent, &owner)?)
                        })
                        .await?;
                    tracing::info!(messages = n, "handed back unsent messages: stopping");
                }
                Ok::<_, cms_core::Error>(())
            }));
        }
        record(&self.state, &self.owner, outcomes).await?;
        for t in tasks {
            match t.await {
                Ok(r) => r?,
                Err(e) => tracing::warn!(error = %e, "a mail sender task failed"),
            }
        }
        Ok(n)
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        for s in &self.slots {
            transport::close(&mut *s.lock().await).await;
        }
    }
}

/// Records what happened to messages this worker holds.
async fn record(
    state: &AppState,
    owner: &str,
    outcomes: Vec<(OutboxMessage, Outcome)>,
) -> cms_core::Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let owner = owner.to_string();
    let base = state.config.mail.retry_seconds;
    state
        .db
        .write(move |c| {
            for (m, outcome) in outcomes {
                match outcome {
                    Outcome::Sent => {
                        outbox::mark_sent(c, m.id, &owner)?;
                    }
                    Outcome::Discard => {
                        outbox::discard(c, m.id, &owner)?;
                    }
                    Outcome::Failed(e) => {
                        outbox::mark_failed(c, m.id, &owner, &e)?;
                    }
                    Outcome::Retry(e) if m.attempts >= MAX_ATTEMPTS => {
                        outbox::mark_failed(
                            c,
                            m.id,
                            &owner,
                            &format!("gave up after {} attempts: {e}", m.attempts),
                        )?;
                    }
                    Outcome::Retry(e) => {
                        let delay = base
                            .saturating_mul(1u64 << (m.attempts.clamp(1, 12) - 1))
                            .min(6 * 3600);
                        outbox::mark_retry(
                            c,
                            m.id,
                            &owner,
                            &e,
                            now() + Span::seconds(delay as i64),
                        )?;
                    }
                }
            }
            Ok::<_, cms_core::Error>(())
        })
        .await
}

/// Delivers everything due now, round after round, until nothing is left (tests, `cms mail`).
pub async fn drain(d: &Deliverer) -> cms_core::Result<usize> {
    let mut total = 0;
    loop {
        let n = d.round().await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}
