//! Media on an S3-compatible object store: a real Garage server (`garage.rs`), the store's
//! operations, photos ingested into a bucket and served from it, and what happens when the
//! store is down.

pub mod garage;
mod migrate;
mod s3;
