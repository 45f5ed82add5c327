//! Housekeeping: expired sessions, spent rate-limit events and orphaned temporary media go;
//! what is live stays.

use chrono::Duration;
use cms_core::housekeeping;
use cms_core::models::user::Role;
use cms_core::models::{rate_limit, session};
use diesel::prelude::*;

use crate::backend_tests;
use crate::common::{Backend, TestEnv};

async fn housekeeping_removes_only_what_is_spent(backend: Backend) {
    let env = TestEnv::new(backend);
    let user = crate::admin::client::make_user(&env, "admin@example.org", Role::Admin);
    let live = env.write(|c| Ok(session::create(c, user, Duration::hours(8), None, None)?));
    let dead = env.write(|c| Ok(session::create(c, user, Duration::seconds(1), None, None)?));
    env.write(|c| {
        use cms_core::schema::sessions;
        diesel::update(sessions::table.find(&dead.session.id_hash))
            .set(sessions::expires_at.eq(cms_core::models::now() - Duration::days(1)))
            .execute(c)?;
        rate_limit::record(c, "login-ip", "203.0.113.7")?;
        rate_limit::record(c, "login-ip", "203.0.113.8")?;
        use cms_core::schema::rate_events;
        diesel::update(rate_events::table.filter(rate_events::key.eq("203.0.113.7")))
            .set(rate_events::at.eq(cms_core::models::now() - Duration::days(3)))
            .execute(c)?;
        Ok(())
    });
    let tmp = env.state.config.storage.media_dir.join(".tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    std::fs::write(tmp.join("999999999-orphan"), b"half").expect("orphan");
    let swept = housekeeping::run(&env.state.db, env.state.media.as_ref()).expect("run");
    assert_eq!(
        swept,
        housekeeping::Swept {
            sessions: 1,
            rate_events: 1,
            temporary_files: 1
        }
    );
    let mut conn = env.conn();
    use cms_core::schema::{rate_events, sessions};
    let left: Vec<String> = sessions::table
        .select(sessions::id_hash)
        .load(&mut *conn)
        .expect("sessions");
    assert_eq!(left, vec![live.session.id_hash]);
    let keys: Vec<String> = rate_events::table
        .select(rate_events::key)
        .load(&mut *conn)
        .expect("events");
    assert_eq!(keys, ["203.0.113.8"]);
    // Run again: nothing more to do.
    drop(conn);
    let again = housekeeping::run(&env.state.db, env.state.media.as_ref()).expect("run");
    assert_eq!(again, housekeeping::Swept::default());
}

backend_tests!(housekeeping_removes_only_what_is_spent);
