//! Background work of `cms serve`: publishing scheduled posts on time, with no traffic needed,
//! exactly once across restarts and nodes (see `cms_core::publishing`).

use std::time::Duration;

use cms_core::AppState;

/// How often the scheduler looks for due posts.
pub const TICK: Duration = Duration::from_secs(1);

/// A name for this process's leases: host and process id, unique per node.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "node".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &cms_core::tokens::random_token()[..8]
    )
}

/// How often the import worker looks for queued server-side imports.
pub const IMPORT_TICK: Duration = Duration::from_secs(2);

/// Starts the scheduler and the import worker. Abort the handle at shutdown; a job either held
/// is taken over by the next worker when its lease runs out.
pub fn spawn_workers(state: AppState) -> tokio::task::JoinHandle<()> {
    let imports = state.clone();
    tokio::spawn(async move {
        let owner = node_name();
        let mut tick = tokio::time::interval(IMPORT_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (s, who) = (imports.clone(), owner.clone());
            let run = tokio::task::spawn_blocking(move || {
                cms_core::ingest::job::run_next(
                    &s.db,
                    s.media.as_ref(),
                    &s.config.storage.import_dir,
                    &s.config.images,
                    &who,
                )
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
