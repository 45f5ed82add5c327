//! Background work of `cms serve`: publishing scheduled posts on time, with no traffic needed,
//! exactly once across restarts and nodes (see `cms_core::publishing`).

use std::time::Duration;

use cms_core::AppState;

/// How often the scheduler looks for due posts.
pub const TICK: Duration = Duration::from_secs(1);

/// A name for this process's leases: host and process id, unique per node.
pub fn node_name() -> String {
    format!(
        "{}:{}:{}",
        cms_core::leases::host(),
        std::process::id(),
        &cms_core::tokens::random_token()[..8]
    )
}

/// How often the mail workers look for work when idle.
pub const MAIL_TICK: Duration = Duration::from_millis(500);

/// How often the import worker looks for queued server-side imports (gallery and site).
pub const IMPORT_TICK: Duration = Duration::from_secs(2);

/// Runs housekeeping (`cms_core::housekeeping`) at start and then once a day.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(cms_core::housekeeping::EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
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
    });
}

/// How often the backup worker looks whether a scheduled backup is due.
pub const BACKUP_TICK: Duration = Duration::from_secs(30);

/// Takes the scheduled backups (`cms_core::backup::schedule`), when they are configured: the
/// first at start when none was taken within the interval.
fn spawn_backups(state: AppState) {
    let Some(schedule) = state.config.backup.clone() else {
        return;
    };
    tokio::spawn(async move {
        let owner = node_name();
        let mut tick = tokio::time::interval(BACKUP_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
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
    });
}

/// Starts the scheduler, the import worker, the mail workers and housekeeping. Abort the
/// handle at shutdown; a job either held is taken over by the next worker when its lease runs
/// out.
pub fn spawn_workers(state: AppState) -> tokio::task::JoinHandle<()> {
    // What a killed process of this machine held is due again at once, not when its lease
    // runs out.
    match state.db.write_blocking(|c| {
        Ok::<_, cms_core::Error>(cms_core::leases::free_dead(c, &cms_core::leases::host())?)
    }) {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "freed the leases of a stopped process"),
        Err(e) => tracing::warn!(error = %e, "cannot free the leases of stopped processes"),
    }
    spawn_mail(state.clone());
    spawn_housekeeping(state.clone());
    spawn_backups(state.clone());
    let imports = state.clone();
    tokio::spawn(async move {
        let owner = node_name();
        let mut tick = tokio::time::interval(IMPORT_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (s, who) = (imports.clone(), owner.clone());
            let run = tokio::task::spawn_blocking(move || {
                let gallery = cms_core::ingest::job::run_next(
                    &s.db,
                    s.media.as_ref(),
                    &s.config.storage.import_dir,
                    &s.config.images,
                    &who,
                )?;
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
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "import worker pass failed"),
                Err(e) => tracing::warn!(error = %e, "import worker task failed"),
            }
        }
    });
    tokio::spawn(async move {
        let owner = node_name();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (db, who) = (state.db.clone(), owner.clone());
            match tokio::task::spawn_blocking(move || cms_core::publishing::run_due(&db, &who))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "scheduler pass failed"),
                Err(e) => tracing::warn!(error = %e, "scheduler task failed"),
            }
        }
    })
}

/// Starts the fan-out worker (queues update emails) and the delivery worker (sends them).
fn spawn_mail(state: AppState) {
    let fan = state.clone();
    tokio::spawn(async move {
        let owner = node_name();
        let host = crate::mail::compose::host_of(&fan.config.server.base_url);
        loop {
            let (db, who, h) = (fan.db.clone(), owner.clone(), host.clone());
            match tokio::task::spawn_blocking(move || cms_core::notify::run_next(&db, &who, &h))
                .await
            {
                Ok(Ok(Some(n))) => tracing::info!(queued = n, "fanned out an update"),
                Ok(Ok(None)) => tokio::time::sleep(MAIL_TICK).await,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "fan-out failed; will retry");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => tracing::warn!(error = %e, "fan-out task failed"),
            }
        }
    });
    tokio::spawn(async move {
        let deliverer = match crate::mail::deliver::Deliverer::new(state, node_name()) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "mail delivery is off");
                return;
            }
        };
        loop {
            match deliverer.round().await {
                Ok(0) => tokio::time::sleep(MAIL_TICK).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "mail delivery round failed");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    });
}
