//! The client's modules, whole. Inside this crate each is used whole
//! (through the modules of the same name in `lib.rs`); the crates above see
//! only what those modules hand on.

#[path = "answer.rs"]
pub mod answer;
#[path = "callers.rs"]
pub mod callers;
#[path = "context.rs"]
pub mod context;
#[path = "dial.rs"]
pub mod dial;
#[path = "doctor.rs"]
pub mod doctor;
#[path = "events/mod.rs"]
pub mod events;
#[path = "failure.rs"]
pub mod failure;
#[path = "handler.rs"]
pub mod handler;
#[path = "http.rs"]
pub mod http;
#[path = "logfile.rs"]
pub mod logfile;
#[path = "names.rs"]
pub mod names;
#[path = "number.rs"]
pub mod number;
#[path = "report.rs"]
pub mod report;
#[path = "request.rs"]
pub mod request;
