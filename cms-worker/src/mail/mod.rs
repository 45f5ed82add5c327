//! Update emails: composing, sending, and the delivery worker.

pub mod compose;
pub mod deliver;
pub mod transport;
