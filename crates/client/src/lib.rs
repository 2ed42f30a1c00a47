//! The client side of ctibridge: numbers, the plain-data request and the
//! one HTTP client, answers, provider rules, tokens, `dial`, and the call
//! events of `watch` with their screen pop. Built on the param language
//! ([`ctibridge_lang`]), never on the server.
//!
//! The surface is small: what the crates above use is `pub`, the rest of
//! each module `pub(crate)`, so the compiler reports an item nobody uses.

pub mod answer;
pub mod backoff;
mod cache;
mod callers;
pub mod clock;
pub mod context;
pub mod dial;
pub mod doctor;
pub mod events;
pub mod failure;
pub mod handler;
pub mod http;
pub mod launch;
pub mod logfile;
pub mod names;
pub mod number;
mod provider;
pub mod report;
pub mod request;
mod token;

// The language's modules, under the paths this crate's code names them by.
#[cfg(test)]
use ctibridge_lang::load;
use ctibridge_lang::{config, diag, param, redact, schema, source, template};
