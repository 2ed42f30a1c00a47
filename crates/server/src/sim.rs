//! The simulator provider: calls that ring, are answered and hang up with
//! short, realistic timings, published on the hub like real ones.

use std::sync::Arc;
use std::time::Duration;

use crate::hub::{Direction, Event, LineEvent};
use crate::ingest::Ingest;

/// Asks the simulator of the bridge server at `base` for an incoming call.
pub async fn inject(
    base: &str,
    from: &str,
    to: &str,
    answer: bool,
    ca_file: Option<&std::path::Path>,
) -> Result<crate::http::HttpResponse, crate::http::SendError> {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    crate::request(
        crate::config::Method::Post,
        format!(
            "{}/sim/call?from={}&to={}&answer={}",
            base.trim_end_matches('/'),
            enc(from),
            enc(to),
            u8::from(answer)
        ),
        Vec::new(),
        ca_file,
    )
    .await
}

/// How long a simulated call rings and talks.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    pub ring: Duration,
    pub talk: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            ring: Duration::from_millis(1500),
            talk: Duration::from_millis(3000),
        }
    }
}

/// Simulated telephony, its events entering the server as a provider's
/// do (journaled, then published; or neither).
#[derive(Clone)]
pub struct Sim {
    ingest: Arc<Ingest>,
    timings: Timings,
}

/// Journals and publishes the events of a simulated call in turn; the
/// first one refused ends the call (nothing after it would make sense).
async fn play(ingest: &Ingest, events: impl IntoIterator<Item = LineEvent>) -> bool {
    for ev in events {
        if let Err(why) = ingest.accept(ev).await {
            tracing::warn!(
                "a simulated call event was not journaled ({why:?}): the call ends here"
            );
            return false;
        }
        ingest
            .metrics()
            .published(crate::metrics::Origin::simulator);
    }
    true
}

impl Sim {
    pub fn new(ingest: Arc<Ingest>, timings: Timings) -> Sim {
        Sim { ingest, timings }
    }

    fn callref() -> String {
        format!("sim-{:016x}", fastrand::u64(..))
    }

    /// A call placed from `line` to `to`: the caller's line sees it go out,
    /// the callee (any number: in the simulator every number is a line)
    /// sees it ring; it is answered, then hung up.
    pub fn dial(&self, line: &str, to: &str) -> String {
        let callref = Self::callref();
        let out = Leg::new(line, to, to, &callref, Direction::Out);
        let inc = Leg::new(to, line, to, &callref, Direction::In);
        let ingest = self.ingest.clone();
        let t = self.timings;
        tokio::spawn(async move {
            if !play(&ingest, [out.event(Event::Dial), inc.event(Event::Ring)]).await {
                return;
            }
            tokio::time::sleep(t.ring).await;
            if !play(
                &ingest,
                [out.event(Event::Connect), inc.event(Event::Connect)],
            )
            .await
            {
                return;
            }
            tokio::time::sleep(t.talk).await;
            play(
                &ingest,
                [out.event(Event::Release), inc.event(Event::Release)],
            )
            .await;
        });
        callref
    }

    /// An incoming call from `from` to the line `to`; answered or not.
    pub fn incoming(&self, from: &str, to: &str, answer: bool) -> String {
        let callref = Self::callref();
        let inc = Leg::new(to, from, to, &callref, Direction::In);
        let ingest = self.ingest.clone();
        let t = self.timings;
        tokio::spawn(async move {
            if !play(&ingest, [inc.event(Event::Ring)]).await {
                return;
            }
            tokio::time::sleep(t.ring).await;
            if answer {
                if !play(&ingest, [inc.event(Event::Connect)]).await {
                    return;
                }
                tokio::time::sleep(t.talk).await;
            }
            // Hung up before the answer: the station sees a missed call.
            play(&ingest, [inc.event(Event::Release)]).await;
        });
        callref
    }
}

/// One party's side of a simulated call.
struct Leg {
    line: String,
    tel: String,
    called: String,
    callref: String,
    direction: Direction,
}

impl Leg {
    fn new(line: &str, tel: &str, called: &str, callref: &str, direction: Direction) -> Leg {
        Leg {
            line: line.to_owned(),
            tel: tel.to_owned(),
            called: called.to_owned(),
            callref: callref.to_owned(),
            direction,
        }
    }

    fn event(&self, event: Event) -> LineEvent {
        LineEvent {
            seq: 0,
            line: self.line.clone(),
            event,
            tel: self.tel.clone(),
            called: self.called.clone(),
            callref: self.callref.clone(),
            direction: self.direction,
            replaces: None,
            person: None,
        }
    }
}
