//! ctibridge: a click-to-call bridge driven by Divalto-style param files.
//!
//! The pipeline, one module a step: [`source`] (decoding hand-edited files)
//! → [`param`] (syntax tree with positions) → [`config`] (typed, layered,
//! checked) → [`template`] (`$keyword$` expansion) → [`explain`] (`ctibridge check`). [`schema`] is the one table of
//! sections, tags and keywords they all read. None of these layers needs
//! tokio or reqwest.

pub mod answer;
pub mod cache;
pub mod config;
pub mod demo;
pub mod diag;
pub mod dial;
pub mod events;
pub mod exit;
pub mod explain;
pub mod failure;
pub mod handler;
pub mod http;
pub mod launch;
pub mod load;
pub mod logfile;
pub mod number;
pub mod param;
pub mod profile;
pub mod provider;
pub mod redact;
pub mod reference;
pub mod request;
pub mod schema;
pub mod server;
pub mod source;
pub mod template;
pub mod token;
