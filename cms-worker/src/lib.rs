//! The background work of `cms serve`, beside the web plugins and independent of them: the
//! scheduler (scheduled posts published on time, with no traffic needed, exactly once across
//! restarts and nodes: `cms_core::publishing`), server-side imports, update emails (the
//! fan-out and the delivery loop, `mail`) and digests (`cms_core::digest`), webhooks,
//! scheduled backups, housekeeping and the lease sweeper. Start it with [`spawn_workers`]; [`Workers::stop`] lets it finish what it holds.

pub mod mail;

use std::time::Duration;

use cms_core::AppState;
use cms_core::db::wake::Work;
use tokio::task::JoinHandle;

/// How often the scheduler looks for due posts (PostgreSQL: while not listening; SQLite).
pub const TICK: Duration = Duration::from_secs(1);

/// How often the scheduler looks on its own while notifications wake it (`cms_core::db::wake`):
/// it also wakes when the next scheduled post falls due.
pub const SCHEDULER_IDLE: Duration = Duration::from_secs(30);

/// A name for this process's leases: host and process id, unique per node.
pub fn node_name() -> String {
    format!(
        "{}:{}:{}",
        cms_core::leases::host(),
        std::process::id(),
        &cms_core::tokens::random_token()[..8]
    )
}

/// How often the mail workers look for work when idle (PostgreSQL: while not listening;
/// SQLite).
pub const MAIL_TICK: Duration = Duration::from_millis(500);

/// How often the mail workers look on their own while notifications wake them: for retries
/// and leases, which fall due with time.
pub const MAIL_IDLE: Duration = Duration::from_secs(5);

/// How often the import worker looks for queued server-side imports (gallery and site).
pub const IMPORT_TICK: Duration = Duration::from_secs(2);

/// How often the import worker looks on its own while notifications wake it.
pub const IMPORT_IDLE: Duration = Duration::from_secs(10);

/// Waits, after a pass of a worker of `work` that found nothing (more) to do, until
/// notifications wake it, its idle time has passed (`polling` when not listening) or the process
/// starts stopping; `false` when it is stopping.
async fn rest(state: &AppState, work: Work, polling: Duration, idle: Duration) -> bool {
    let wake = state.db.wake();
    wake.wait(work, wake.idle(polling, idle)).await;
    !cms_core::shutdown::is_stopping()
}

/// Sleeps for `d`, or less when the process starts stopping.
async fn pause(d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = cms_core::shutdown::requested() => {}
    }
}

/// Waits for `tick`'s next beat; `false` when the process is stopping instead.
async fn next_beat(tick: &mut tokio::time::Interval) -> bool {
    tokio::select! {
        _ = tick.tick() => !cms_core::shutdown::is_stopping(),
        _ = cms_core::shutdown::requested() => false,
    }
}

/// An interval that waits its full period after a late beat.
fn every(d: Duration) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(d);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Runs housekeeping (`cms_core::housekeeping`) at start and then once a day.
fn spawn_housekeeping(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = every(cms_core::housekeeping::EVERY);
        while next_beat(&mut tick).await {
            let s = state.clone();
            match tokio::task::spawn_blocking(move || {
                cms_core::housekeeping::run(&s.db, s.media.as_ref())
            })
            .await
            {
                Ok(Ok(swept)) => tracing::info!(?swept, "housekeeping done"),
                Ok(Err(e)) => tracing::warn!(error = %e, "housekeeping failed; will try again"),
                Err(e) => tracing::warn!(error = %e, "housekeeping task failed"),
            }
        }
    })
}

/// How often the backup worker looks whether a scheduled backup is due.
pub const BACKUP_TICK: Duration = Duration::from_secs(30);

/// Takes the scheduled backups (`cms_core::backup::schedule`), when they are configured: the
/// first at start when none was taken within the interval.
fn spawn_backups(state: AppState) -> Option<JoinHandle<()>> {
    let schedule = state.config.backup.clone()?;
    Some(tokio::spawn(async move {
        let owner = node_name();
        let mut tick = every(BACKUP_TICK);
        while next_beat(&mut tick).await {
            let (s, plan, who) = (state.clone(), schedule.clone(), owner.clone());
            match tokio::task::spawn_blocking(move || {
                cms_core::backup::schedule::run_due(&s.config, &s.db, &plan, &who)
            })
            .await
            {
                Ok(Ok(Some(folder))) => {
                    tracing::info!(folder = %folder.display(), "scheduled backup taken")
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
                Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
            }
        }
    }))
}

/// How often a node looks for work held by dead processes of its machine (another node there
/// killed, or crashed): it is due again at once, not when its lease runs out.
pub const LEASE_SWEEP: Duration = Duration::from_secs(5);

fn free_dead_leases(state: &AppState) {
    let host = cms_core::leases::host();
    let dead = state
        .db
        .conn()
        .and_then(|mut c| Ok(cms_core::leases::dead_owners(&mut c, &host)?));
    let freed = match dead {
        Ok(owners) if owners.is_empty() => return,
        Ok(owners) => state
            .db
            .write_blocking(|c| Ok::<_, cms_core::Error>(cms_core::leases::free(c, &owners)?)),
        Err(e) => Err(e),
    };
    match freed {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(rows = n, "freed the leases of a stopped process");
            state.db.wake().wake_all();
        }
        Err(e) => tracing::warn!(error = %e, "cannot free the leases of stopped processes"),
    }
}

/// The background workers of a node.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Waits, after `cms_core::shutdown::begin`, for the workers to finish what they hold (a
    /// message being sent, a batch of photos, a fan-out batch) and hand back the rest; those
    /// still busy after `grace` are abandoned (their work is taken up again like a crashed
    /// node's). Returns how many were abandoned.
    pub async fn stop(self, grace: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + grace;
        let mut abandoned = 0;
        for mut h in self.handles {
            if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
                h.abort();
                abandoned += 1;
            }
        }
        abandoned
    }
}

/// How often the webhook worker looks for new changes and due deliveries (PostgreSQL: while
/// not listening; SQLite).
pub const WEBHOOK_TICK: Duration = Duration::from_millis(500);

/// How often the webhook worker looks on its own while notifications wake it: for retries,
/// which fall due with time (the first after 5 s).
pub const WEBHOOK_IDLE: Duration = Duration::from_secs(5);

/// Plans the change stream into webhook deliveries and sends what is due
/// (`cms_core::webhooks`), when woken by a change or a delivery queued, and on its own twice a
/// second (SQLite) or every five seconds.
fn spawn_webhooks(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let owner = node_name();
        let fetcher = std::sync::Arc::new(cms_core::webhooks::fetcher(
            state.config.webhook_allow_private,
        ));
        while !cms_core::shutdown::is_stopping() {
            let (s, who, f) = (state.clone(), owner.clone(), fetcher.clone());
            let pass = tokio::task::spawn_blocking(move || {
                cms_core::webhooks::plan(&s.db, &s.config.server.base_url)?;
                cms_core::webhooks::deliver_due(&s.db, &f, &s.config.secret, &who)
            });
            match pass.await {
                Ok(Ok(sent)) if sent.failed > 0 => {
                    tracing::warn!(failed = sent.failed, "webhook deliveries failed for good")
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "webhook pass failed"),
                Err(e) => tracing::warn!(error = %e, "webhook task failed"),
            }
            if !rest(&state, Work::Webhooks, WEBHOOK_TICK, WEBHOOK_IDLE).await {
                break;
            }
        }
    })
}

/// How often a node looks whether a digest's sending moment has come.
pub const DIGEST_TICK: Duration = Duration::from_secs(5);

/// Records each digest period when its sending moment comes (`cms_core::digest`); the
/// fan-out worker then queues its emails.
fn spawn_digests(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = every(DIGEST_TICK);
        while next_beat(&mut tick).await {
            let s = state.clone();
            match tokio::task::spawn_blocking(move || {
                cms_core::digest::schedule_due(&s.db, &s.config)
            })
            .await
            {
                Ok(Ok(made)) => {
                    for d in made {
                        tracing::info!(cadence = %d.cadence, period = %d.period, "digest period closed")
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "digest scheduling failed"),
                Err(e) => tracing::warn!(error = %e, "digest task failed"),
            }
        }
    })
}

/// Starts the scheduler, the import worker, the mail workers, the webhook worker, the lease sweeper,
/// housekeeping, scheduled backups and, on PostgreSQL, the connection that listens for work
/// (`cms_core::db::wake`). At shutdown, call `cms_core::shutdown::begin` and then
/// [`Workers::stop`].
pub fn spawn_workers(state: AppState) -> Workers {
    // What a killed process of this machine held is due again at once, not when its lease
    // runs out.
    free_dead_leases(&state);
    let mut handles = Vec::new();
    let listener = state.db.clone();
    handles.push(tokio::task::spawn_blocking(move || listener.listen()));
    let sweeper = state.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = every(LEASE_SWEEP);
        tick.tick().await;
        while next_beat(&mut tick).await {
            let s = sweeper.clone();
            let _ = tokio::task::spawn_blocking(move || free_dead_leases(&s)).await;
        }
    }));
    handles.extend(spawn_mail(state.clone()));
    handles.push(spawn_housekeeping(state.clone()));
    handles.extend(spawn_backups(state.clone()));
    let imports = state.clone();
    handles.push(tokio::spawn(async move {
        let owner = node_name();
        while !cms_core::shutdown::is_stopping() {
            let (s, who) = (imports.clone(), owner.clone());
            let run = tokio::task::spawn_blocking(move || {
                let gallery = cms_core::ingest::job::run_next(
                    &s.db,
                    s.media.as_ref(),
                    &s.config.storage.import_dir,
                    &s.config.images,
                    &who,
                )?;
                if cms_core::shutdown::is_stopping() {
                    return Ok(gallery);
                }
                let site = cms_core::import::job::run_next(
                    &s.db,
                    s.media.as_ref(),
                    &s.config.storage.import_dir,
                    &s.config.images,
                    &who,
                )?;
                Ok::<_, cms_core::Error>(gallery || site)
            });
            match run.await {
                // Ran an import: the next queued one, if any, at once.
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "import worker pass failed"),
                Err(e) => tracing::warn!(error = %e, "import worker task failed"),
            }
            if !rest(&imports, Work::Imports, IMPORT_TICK, IMPORT_IDLE).await {
                break;
            }
        }
    }));
    handles.push(spawn_webhooks(state.clone()));
    handles.push(spawn_digests(state.clone()));
    handles.push(tokio::spawn(async move {
        let owner = node_name();
        while !cms_core::shutdown::is_stopping() {
            let (db, who) = (state.db.clone(), owner.clone());
            let pass =
                tokio::task::spawn_blocking(move || cms_core::publishing::run_due(&db, &who)).await;
            // Woken by notifications, it need not look before the next post falls due; a post
            // due already (claimed by another node, or a failed pass) is looked at in a
            // second, as when polling.
            let idle = match pass {
                Ok(Ok(p)) => match p.next_due {
                    None => SCHEDULER_IDLE,
                    Some(at) => (at - state.db.now())
                        .to_std()
                        .ok()
                        .filter(|d| !d.is_zero())
                        .map_or(TICK, |d| d.min(SCHEDULER_IDLE)),
                },
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "scheduler pass failed");
                    TICK
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler task failed");
                    TICK
                }
            };
            if !rest(&state, Work::Scheduler, TICK, idle).await {
                break;
            }
        }
    }));
    Workers { handles }
}

/// Starts the fan-out worker (queues update emails) and the delivery worker (sends them).
fn spawn_mail(state: AppState) -> Vec<JoinHandle<()>> {
    let fan = state.clone();
    let fan_out = tokio::spawn(async move {
        let owner = node_name();
        let host = cms_core::notify::host_of(&fan.config.server.base_url);
        while !cms_core::shutdown::is_stopping() {
            let (db, who, h) = (fan.db.clone(), owner.clone(), host.clone());
            // Single updates first, then digests.
            match tokio::task::spawn_blocking(move || {
                match cms_core::notify::run_next(&db, &who, &h)? {
                    Some(n) => Ok(Some(n)),
                    None => cms_core::digest::run_next(&db, &who, &h),
                }
            })
            .await
            {
                Ok(Ok(Some(n))) => tracing::info!(queued = n, "fanned out an update"),
                Ok(Ok(None)) => {
                    rest(&fan, Work::FanOut, MAIL_TICK, MAIL_IDLE).await;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "fan-out failed; will retry");
                    pause(Duration::from_secs(5)).await;
                }
                Err(e) => tracing::warn!(error = %e, "fan-out task failed"),
            }
        }
    });
    let delivery = tokio::spawn(async move {
        let deliverer = match crate::mail::deliver::Deliverer::new(state.clone(), node_name()) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "mail delivery is off");
                return;
            }
        };
        while !cms_core::shutdown::is_stopping() {
            match deliverer.round().await {
                Ok(0) => {
                    rest(&state, Work::Mail, MAIL_TICK, MAIL_IDLE).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "mail delivery round failed");
                    pause(Duration::from_secs(5)).await;
                }
            }
        }
        deliverer.shutdown().await;
    });
    vec![fan_out, delivery]
}
