//! The language's modules, whole. Inside this crate each is used whole
//! (through the modules of the same name in `lib.rs`); the crates above see
//! only what those modules hand on.

#[path = "config/mod.rs"]
pub mod config;
#[path = "diag.rs"]
pub mod diag;
#[path = "exit.rs"]
pub mod exit;
#[path = "explain.rs"]
pub mod explain;
#[path = "load.rs"]
pub mod load;
#[path = "param/mod.rs"]
pub mod param;
#[path = "profile.rs"]
pub mod profile;
#[path = "redact.rs"]
pub mod redact;
#[path = "reference.rs"]
pub mod reference;
#[path = "schema.rs"]
pub mod schema;
#[path = "source.rs"]
pub mod source;
#[path = "template.rs"]
pub mod template;
