pub mod calls;
pub mod hub;
pub mod ingest;
pub mod journal;
pub mod seen;
pub mod tokens;
