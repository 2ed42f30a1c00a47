//! The param language of ctibridge: Divalto-style param files read,
//! checked and explained, with no network and no runtime.
//!
//! The pipeline, one module a step: [`source`] (decoding hand-edited files)
//! → [`param`] (syntax tree with positions) → [`config`] (typed, layered,
//! checked) → [`template`] (`$keyword$` expansion) → [`explain`]
//! (`ctibridge check`). [`schema`] is the one table of sections, tags and
//! keywords they all read; [`load`] finds and reads the files; [`profile`]
//! holds the built-in provider profiles. None of this crate needs tokio,
//! reqwest or hyper: a cycle back into the crates above it cannot compile.
//!
//! The surface is small: what the crates above use is `pub`, the rest of
//! each module `pub(crate)`, so the compiler reports an item nobody uses.

pub mod config;
pub mod diag;
pub mod exit;
pub mod explain;
pub mod load;
pub mod param;
pub mod profile;
pub mod redact;
pub mod reference;
pub mod schema;
pub mod source;
pub mod template;
