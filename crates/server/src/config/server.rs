//! The HTTP side's settings, as `serve` runs with them.

use std::time::Duration;

use crate::config::defaults;

/// The server's settings.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// How long `getevent` holds a poll with nothing to say, for stations
    /// that send their cursor (ctibridge).
    pub hold: Duration,
    /// The same for stations that send none: Divalto's engine reads with a
    /// one-second timeout (`<timeout3>`), so its polls are answered sooner.
    pub short_hold: Duration,
    /// How long a token from `gettoken` is valid.
    pub token_ttl: Duration,
    /// Keyyo notifications: who may send them. `None`: the route is off.
    pub keyyo: Option<crate::config::keyyo::KeyyoOptions>,
    /// Requests per second per address to the CTI routes, and Keyyo
    /// notifications per second per address (bursts of twice as many).
    pub cti_rate: u32,
    pub notify_rate: u32,
    /// The desks allowed to connect. Empty: any desk on this machine,
    /// every line (the simulator's zero-configuration setup).
    pub desks: Vec<crate::config::settings::Desk>,
    /// The country a line or number without country code is read in.
    pub country: String,
    /// The form of the numbers desks receive (`<tel_format>`).
    pub tel_format: ctibridge_lang::config::NumberFormat,
    /// `<trusted_proxies>`: whose forwarded headers name the client.
    pub trusted_proxies: crate::infra::proxies::TrustedProxies,
    /// `<monitoring>`: who besides this machine may read `/healthz` and
    /// `/metrics` (addresses and ranges, read as `<trusted_proxies>` is).
    pub monitoring: crate::infra::proxies::TrustedProxies,
    /// `<record_url>`: the ERP's page of a caller (the browser desk).
    pub record_url: Option<String>,
}

impl ServerOptions {
    /// Every desk's lines, sorted, each once: the lines the wall shows.
    pub fn all_lines(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .desks
            .iter()
            .flat_map(|d| d.lines.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Whether a desk is a supervisor's (a wall to keep up to date).
    pub fn has_supervisor(&self) -> bool {
        self.desks.iter().any(|d| d.supervisor)
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            hold: defaults::hold(),
            short_hold: defaults::SHORT_HOLD,
            token_ttl: defaults::token_ttl(),
            keyyo: None,
            cti_rate: defaults::cti_rate(),
            notify_rate: defaults::notify_rate(),
            desks: Vec::new(),
            country: defaults::country(),
            tel_format: defaults::tel_format(),
            trusted_proxies: Default::default(),
            monitoring: Default::default(),
            record_url: None,
        }
    }
}
