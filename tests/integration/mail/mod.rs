//! Subscriptions and update emails against a real SMTP server on loopback.

mod delivery;
pub mod sink;
mod subscribe;

use cms_admin::mail::deliver::{Deliverer, drain};
use cms_core::notify;

use crate::common::TestEnv;

/// Runs every due fan-out, then delivers everything due.
pub async fn fan_out_and_deliver(env: &TestEnv) -> usize {
    while notify::run_next(&env.state.db, "test-fanout", "keepsake.test")
        .expect("fan-out")
        .is_some()
    {}
    let d = Deliverer::new(env.state.clone(), "test-mailer".into()).expect("deliverer");
    let n = drain(&d).await.expect("deliver");
    d.shutdown().await;
    n
}
