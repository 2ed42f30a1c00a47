//! ctibridge: a click-to-call bridge driven by Divalto-style param files.
//!
//! The layers are crates, each built only on those below it:
//! [`ctibridge_lang`] (the param language: files read, checked, explained;
//! no network), [`ctibridge_client`] (numbers, the HTTP client, dial,
//! watch) and [`ctibridge_server`] (the bridge server). This crate is the
//! command line; its library is those layers under one name, as the
//! binary, the tests and the benchmarks use them.

pub use ctibridge_client::{
    answer, context, dial, doctor, events, failure, handler, http, launch, logfile, names, number,
    report, request,
};
pub use ctibridge_lang::{
    config, diag, exit, explain, load, param, profile, redact, reference, schema, source, template,
};
pub use ctibridge_server as server;

pub mod calls;
pub mod demo;
