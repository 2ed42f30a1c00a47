//! Provider rules that HTTP templates cannot say, driven by tags of a
//! request section: `<auth>` (Basic, Digest, OVH signature), `<min_interval>`
//! (pacing across processes), `<retry_body>` (a refusal that placed
//! nothing, sent again) and `<success_body>` (what success looks like).

pub mod auth;
pub mod pace;

use std::time::Duration;

use crate::config::{Auth, Config, RequestSpec};
use crate::http::{HttpClient, HttpResponse, SendError};
use crate::request::{self, HttpRequest};
use crate::template::{ExpandError, Values};

/// How many times a retry-safe refusal ("Come Back Later") is sent again.
pub const MAX_RETRIES: u32 = 3;
/// Added to `<min_interval>` between two paced requests.
pub const PACE_MARGIN: Duration = Duration::from_millis(150);
/// The shortest wait before sending again after a retry-safe refusal.
pub const RETRY_WAIT: Duration = Duration::from_secs(1);

/// An answer, and how many times a retry-safe refusal was sent again.
#[derive(Debug)]
pub struct Exchanged {
    pub response: HttpResponse,
    pub retries: u32,
}

/// Why no answer came back.
#[derive(Debug)]
pub enum ExchangeError {
    /// A keyword could not be expanded.
    Build(ExpandError),
    /// The credentials could not be computed (nothing more was sent).
    Auth(String),
    /// The request could not be sent or got no answer.
    Send(SendError),
}

/// What a request needs besides its section: the client, the station's
/// credentials and the pacing store.
pub struct Exchange<'a> {
    pub client: &'a HttpClient,
    pub config: &'a Config,
    pub pacer: pace::Pacer,
    pub context: &'a crate::context::Context,
}

impl<'a> Exchange<'a> {
    pub fn new(
        client: &'a HttpClient,
        config: &'a Config,
        context: &'a crate::context::Context,
    ) -> Exchange<'a> {
        Exchange {
            client,
            config,
            pacer: context.pacer(),
            context,
        }
    }

    /// Sends the request of `spec` with `values` under the section's rules;
    /// `timeout` replaces the client's time limit (an event poll).
    pub async fn send(
        &self,
        spec: &RequestSpec,
        values: &Values,
        timeout: Option<Duration>,
    ) -> Result<Exchanged, ExchangeError> {
        let mut retries = 0;
        let st = &self.config.station;
        // With Digest, the request the provider counts is the one that
        // answers its challenge: that one is paced (the challenge round
        // trip before it varies; pacing the first request would let two
        // desks' counted requests come closer than the interval).
        let digest = spec.auth.value == Auth::Digest && !st.user.value.is_empty();
        // A provider that answered without a challenge (it trusts this
        // address) counts the first request: paced from then on.
        let mut pace_first = !digest;
        loop {
            let mut req = request::build(spec, values).map_err(ExchangeError::Build)?;
            if pace_first {
                self.pace(spec, values, retries).await;
            }
            self.authenticate(spec, &mut req).await?;
            let mut resp = self.send_once(&req, timeout).await?;
            if digest && resp.status != 401 {
                pace_first = true;
            }
            if resp.status == 401 && digest && !resp.www_authenticate.is_empty() {
                let header = auth::digest(
                    &req,
                    &resp.www_authenticate,
                    &st.user.value,
                    st.mdp.value.expose(),
                )
                .map_err(ExchangeError::Auth)?;
                req.headers.push(("Authorization".to_owned(), header));
                self.pace(spec, values, retries).await;
                resp = self.send_once(&req, timeout).await?;
            }
            if is_retry_safe(spec, &resp) && retries < MAX_RETRIES {
                retries += 1;
                tracing::info!(
                    status = resp.status,
                    "the provider asks to come back later: nothing was placed, sending again ({retries}/{MAX_RETRIES})"
                );
                continue;
            }
            return Ok(Exchanged {
                response: resp,
                retries,
            });
        }
    }

    /// Waits for this request's slot in the section's pace (`<min_interval>`,
    /// longer for a retry), shared by every process on this machine.
    pub(crate) async fn pace(&self, spec: &RequestSpec, values: &Values, retries: u32) {
        let interval = if retries > 0 {
            spec.min_interval.value.max(RETRY_WAIT)
        } else {
            spec.min_interval.value
        };
        if !interval.is_zero() {
            // A margin over the provider's interval: the requests of two
            // desks leave their machine, and reach the provider, a little
            // later than their slots, never exactly on them.
            let interval = interval + PACE_MARGIN;
            let wait = self.pacer.reserve(&pace_key(spec, values), interval);
            if !wait.is_zero() {
                tracing::debug!(?wait, "waiting for the request pace");
                tokio::time::sleep(wait).await;
            }
        }
    }

    async fn send_once(
        &self,
        req: &HttpRequest,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse, ExchangeError> {
        match timeout {
            Some(t) => self.client.send_within(req, t).await,
            None => self.client.send(req).await,
        }
        .map_err(ExchangeError::Send)
    }

    async fn authenticate(
        &self,
        spec: &RequestSpec,
        req: &mut HttpRequest,
    ) -> Result<(), ExchangeError> {
        let st = &self.config.station;
        match spec.auth.value {
            Auth::None | Auth::Digest => Ok(()),
            Auth::Basic => {
                auth::basic(req, &st.user.value, st.mdp.value.expose());
                Ok(())
            }
            Auth::Ovh => {
                let keys = auth::OvhKeys {
                    app_key: &st.app_key.value,
                    app_secret: st.app_secret.value.expose(),
                    consumer_key: st.consumer_key.value.expose(),
                };
                let offset =
                    ovh::time_offset(self.client, &self.config.global.api_url.value, self.context)
                        .await
                        .map_err(ExchangeError::Auth)?;
                let now = self.context.clock().unix_secs();
                auth::ovh_sign(req, &keys, now + offset);
                Ok(())
            }
        }
    }
}

/// One pace per section, server and line.
fn pace_key(spec: &RequestSpec, values: &Values) -> String {
    let host = url::Url::parse(&values.api_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let material = format!(
        "{}\n{host}\n{}\n{}",
        spec.section.name(),
        values.telorg,
        values.account
    );
    format!("{:016x}", crate::cache::fnv1a(material.as_bytes()))
}

/// A refusal that certainly placed nothing: not a success, and its body
/// holds one of the `<retry_body>` texts.
pub fn is_retry_safe(spec: &RequestSpec, resp: &HttpResponse) -> bool {
    if accepted(spec, resp) {
        return false;
    }
    let body = resp.body.to_ascii_lowercase();
    spec.retry_body
        .value
        .iter()
        .any(|t| body.contains(&t.to_ascii_lowercase()))
}

/// Success: a 2xx status and, with `<success_body>`, exactly that body
/// (`2xx`: any body).
pub fn accepted(spec: &RequestSpec, resp: &HttpResponse) -> bool {
    let body = spec.success_body.value.as_str();
    resp.is_success() && (body.is_empty() || body == "2xx" || resp.body.trim() == body)
}

/// The OVH API's clock: requests are signed with its time.
pub mod ovh {
    use crate::http::HttpClient;
    use crate::request::HttpRequest;

    /// How long a measured offset is trusted.
    const FRESH_SECS: i64 = 3600;

    /// Server time minus local time, in seconds, from `GET {api}/auth/time`,
    /// cached in the cache folder for an hour.
    pub async fn time_offset(
        client: &HttpClient,
        api_url: &str,
        context: &crate::context::Context,
    ) -> Result<i64, String> {
        let api = api_url.trim_end_matches('/');
        let key = format!("{:016x}", crate::cache::fnv1a(api.as_bytes()));
        let file = context.cache_dir().map(|d| d.join("ovh-time").join(key));
        let now = context.clock().unix_secs();
        // The file is read and written off the runtime's thread (the bridge
        // server's relay polls on it).
        let cached = match file.clone() {
            Some(f) => tokio::task::spawn_blocking(move || std::fs::read_to_string(f).ok())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        if let Some(text) = cached {
            let mut it = text.split_whitespace().map(str::parse::<i64>);
            if let (Some(Ok(offset)), Some(Ok(at))) = (it.next(), it.next()) {
                if (0..FRESH_SECS).contains(&(now - at)) {
                    return Ok(offset);
                }
            }
        }
        let offset = fetch_offset(client, api, context).await?;
        if let Some(f) = file {
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(dir) = f.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let _ = std::fs::write(&f, format!("{offset} {now}"));
            })
            .await;
        }
        Ok(offset)
    }

    /// `GET {api}/auth/time`, now (not cached): OVH's clock minus this
    /// machine's, in seconds.
    pub async fn fetch_offset(
        client: &HttpClient,
        api: &str,
        context: &crate::context::Context,
    ) -> Result<i64, String> {
        let req = HttpRequest::get(format!("{}/auth/time", api.trim_end_matches('/')));
        let resp = client
            .send(&req)
            .await
            .map_err(|e| format!("cannot read the OVH API time: {e}"))?;
        let server: i64 = resp
            .body
            .trim()
            .parse()
            .map_err(|_| format!("the OVH API time is not a number: {}", resp.body_start()))?;
        Ok(server - context.clock().unix_secs())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::clock::Clock;
    use crate::context::Context;
    use crate::http::{ClientOptions, HttpClient};

    /// The OVH time offset kept in the cache folder is fresh or stale by
    /// the context's clock, not the machine's.
    #[tokio::test(flavor = "current_thread")]
    async fn the_ovh_time_offset_ages_by_the_contexts_clock() {
        let dir = std::env::temp_dir().join(format!("ctibridge-ovh-clock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Nothing listens there: a fetch fails at once.
        let api = "http://127.0.0.1:9/1.0";
        let key = format!("{:016x}", crate::cache::fnv1a(api.as_bytes()));
        let file = dir.join("ovh-time").join(key);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        let then = 1_700_000_000i64;
        std::fs::write(&file, format!("5 {}", then - 10)).expect("write");
        let client = HttpClient::new(&ClientOptions::plain()).expect("client");

        let at = |secs: i64| {
            Context::with_cache_dir(dir.clone())
                .with_clock(Clock::fixed(UNIX_EPOCH + Duration::from_secs(secs as u64)))
        };
        // Measured 10 s before the clock's now: trusted.
        assert_eq!(
            super::ovh::time_offset(&client, api, &at(then)).await,
            Ok(5)
        );
        // Two hours later by the clock: measured again (and the API is not there).
        assert!(super::ovh::time_offset(&client, api, &at(then + 7200))
            .await
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
