//! Subscriptions and update emails against a real SMTP server on loopback.

mod delivery;
mod digest;
pub mod sink;
mod subscribe;

use cms_core::notify;
use cms_worker::mail::deliver::{Deliverer, drain};

use crate::common::TestEnv;

/// `n` confirmed subscribers of the news (`fan00000@example.org`, …), in one transaction.
pub fn confirmed_fans(env: &TestEnv, n: usize) {
    confirmed_fans_at(env, n, cms_core::models::subscriber::Cadence::Immediate);
}

/// [`confirmed_fans`] who chose the news at `cadence`.
pub fn confirmed_fans_at(env: &TestEnv, n: usize, cadence: cms_core::models::subscriber::Cadence) {
    use cms_core::models::subscriber::{self, Choice, Topic};
    let news = [Choice::new(Topic::News, cadence)];
    env.write(|c| {
        for i in 0..n {
            subscriber::import_confirmed_for(c, &format!("fan{i:05}@example.org"), &news, "test")?;
        }
        Ok(())
    });
}

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
