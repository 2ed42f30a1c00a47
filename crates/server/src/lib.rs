//! `ctibridge serve`: the bridge server. Its folders are layers, each
//! importing only from those listed before it:
//!
//! - `model`: pure data, no I/O (events, call control, the clock);
//! - `infra`: leaves that know nothing of calls (metrics, TLS, proxies,
//!   connections, bounds, the runtime);
//! - `config`: the server file to typed settings;
//! - `wire`: provider protocols read into the model, stateless;
//! - `store`: what the server remembers (the hub, the journal, tokens);
//! - `sources`: the tasks that bring calls in or send them out (the
//!   simulator, Keyyo's CTI session, the OVH relay, the dialer, reports);
//! - `http`: the listener and the routes;
//!
//! then `serve` and [`doctor`], which compose them.

mod config;
pub mod doctor;
mod http;
mod infra;
mod model;
mod serve;
mod sources;
mod store;
mod wire;

// What the command line and the demo use.
pub use config::keyyo::{manager_url, KeyyoOptions};
pub use config::server::ServerOptions;
pub use config::settings;
pub use config::settings::CTI_PATH;
pub use infra::bridge_client::ask_bridge;
pub use infra::connections::default_max as default_max_connections;
pub use infra::proxies::TrustedProxies;
pub use infra::tls::{TlsFiles, SELF_SIGNED_RECIPE};
pub use model::record::{CallRecord, HistoryKind};
pub use serve::{journal_history, runtime, serve, ServeError, ServeOptions};
pub use sources::sim::{inject, Auto, Timings};
pub use store::journal::Idle;
