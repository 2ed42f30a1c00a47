//! The simulator provider: calls that ring, are answered and hang up with
//! short, realistic timings, published on the hub like real ones.

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::control::{ControlError, Op, Side};
use crate::model::event::{Direction, Event, LineEvent};
use crate::store::ingest::Ingest;

/// Asks the simulator of the bridge server at `base` for an incoming call.
pub async fn inject(
    base: &str,
    from: &str,
    to: &str,
    auto: Auto,
    ca_file: Option<&std::path::Path>,
) -> Result<ctibridge_client::http::HttpResponse, ctibridge_client::http::SendError> {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    crate::infra::bridge_client::ask_bridge(
        ctibridge_lang::config::Method::Post,
        format!(
            "{}/sim/call?from={}&to={}&answer={}",
            base.trim_end_matches('/'),
            enc(from),
            enc(to),
            match auto {
                Auto::Answer => "1",
                Auto::NoAnswer => "0",
                Auto::Manual => "wait",
            }
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
/// do (journaled, then published; or neither). Each call is a task that
/// rings, is answered, talks and ends on its own timings — or as a desk
/// acts on it ([`Sim::act`]).
#[derive(Clone)]
pub struct Sim {
    ingest: Arc<Ingest>,
    timings: Timings,
    live: Arc<Mutex<HashMap<String, Live>>>,
    /// The call park: slot → the call waiting there.
    park: Arc<Mutex<HashMap<String, String>>>,
    /// Each line's settings and subscriptions.
    lines: Arc<Mutex<HashMap<String, LineState>>>,
    /// What the callee of a desk's dial does (`/sim/dial`).
    dial_auto: Arc<Mutex<Auto>>,
}

/// A simulated line's own state.
#[derive(Clone, Debug)]
struct LineState {
    auto_answer: bool,
    followed: std::collections::BTreeSet<String>,
}

impl Default for LineState {
    fn default() -> Self {
        // Keyyo's default for a session.
        LineState {
            auto_answer: true,
            followed: Default::default(),
        }
    }
}

/// What the simulated network does to a call by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auto {
    /// Answered after the ring time, hung up after the talk time.
    Answer,
    /// Rings out unanswered after the ring time.
    NoAnswer,
    /// Rings, and talks once answered, until a desk acts (at most
    /// two minutes each).
    Manual,
}

/// The longest a call waiting for a desk rings or talks.
pub const MANUAL_LIMIT: Duration = Duration::from_secs(120);

/// An operation for a call's task: the line that asks, what, where the
/// answer goes.
type Command = (
    String,
    Op,
    tokio::sync::oneshot::Sender<Result<(), ControlError>>,
);

/// A call under way, as the control routes see it.
struct Live {
    cmd: tokio::sync::mpsc::UnboundedSender<Command>,
    /// The lines that have a side of it.
    lines: Vec<String>,
    /// Its parties, in their one identity.
    caller: String,
    callee: String,
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
            .published(crate::infra::metrics::Origin::simulator);
    }
    true
}

impl Sim {
    pub fn new(ingest: Arc<Ingest>, timings: Timings) -> Sim {
        Sim {
            ingest,
            timings,
            live: Arc::default(),
            park: Arc::default(),
            lines: Arc::default(),
            dial_auto: Arc::new(Mutex::new(Auto::Answer)),
        }
    }

    /// From now on, the callee of a desk's dial answers by itself
    /// (`Answer`), never (`NoAnswer`), or when told (`Manual`, with
    /// [`Sim::remote`]).
    pub fn set_dial_auto(&self, auto: Auto) {
        *self.dial_auto.lock().unwrap_or_else(|p| p.into_inner()) = auto;
    }

    /// The other party acts on call `callref`: answers it, hangs up.
    pub async fn remote(&self, callref: &str, op: Op) -> Result<(), ControlError> {
        self.act_any(callref, op).await
    }

    fn callref() -> String {
        format!("sim-{:016x}", fastrand::u64(..))
    }

    /// A call placed from `line` to `to`: the caller's line sees it go out,
    /// the callee (any number: in the simulator every number is a line)
    /// sees it ring; it is answered, then hung up.
    pub fn dial(&self, line: &str, to: &str) -> String {
        let auto = *self.dial_auto.lock().unwrap_or_else(|p| p.into_inner());
        self.start(Some(line), to, to, auto, None, None)
    }

    /// An incoming call from `from` to the line `to`; answered or not.
    pub fn incoming(&self, from: &str, to: &str, auto: Auto) -> String {
        self.start(None, from, to, auto, None, None)
    }

    /// Starts a call: from `caller_line` (a line of ours: it has an
    /// outgoing side) or from the outside number `from`, to the line `to`.
    fn start(
        &self,
        caller_line: Option<&str>,
        from: &str,
        to: &str,
        auto: Auto,
        replaces: Option<String>,
        on_answer: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> String {
        let callref = Self::callref();
        let caller = caller_line.unwrap_or(from).to_owned();
        let mut legs = Vec::new();
        if let Some(line) = caller_line {
            legs.push(Leg::new(line, to, to, &callref, Direction::Out));
        }
        legs.push(Leg::new(to, &caller, to, &callref, Direction::In));
        for leg in &mut legs {
            leg.replaces.clone_from(&replaces);
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.lock().insert(
            callref.clone(),
            Live {
                cmd: tx,
                lines: legs.iter().map(|l| l.line.clone()).collect(),
                caller: caller.clone(),
                callee: to.to_owned(),
            },
        );
        let call = SimCall {
            sim: self.clone(),
            callref: callref.clone(),
            caller,
            callee: to.to_owned(),
            legs,
            auto,
            on_answer: Mutex::new(on_answer),
        };
        tokio::spawn(call.run(rx));
        callref
    }

    /// A line operation of `line`: the answer's JSON.
    pub fn line_op(&self, line: &str, op: crate::model::control::LineOp) -> serde_json::Value {
        use crate::model::control::LineOp;
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let state = lines.entry(line.to_owned()).or_default();
        match op {
            LineOp::GetAutoAnswer => serde_json::json!({ "auto_answer": state.auto_answer }),
            LineOp::SetAutoAnswer(on) => {
                state.auto_answer = on;
                serde_json::json!({ "result": "OK" })
            }
            LineOp::Message { to, text } => {
                tracing::info!(
                    line,
                    to,
                    chars = text.chars().count(),
                    "simulated SIP message sent"
                );
                serde_json::json!({ "result": "OK" })
            }
            LineOp::Subscribe(n) => {
                state.followed.insert(n);
                serde_json::json!({ "result": "OK" })
            }
            LineOp::Unsubscribe(n) => {
                state.followed.remove(&n);
                serde_json::json!({ "result": "OK" })
            }
            LineOp::Subscriptions => {
                serde_json::json!({ "numbers": state.followed.iter().collect::<Vec<_>>() })
            }
        }
    }

    /// The parties (caller, callee) of `line`'s call `callref`.
    fn parties(&self, line: &str, callref: &str) -> Option<(String, String)> {
        self.lock()
            .get(callref)
            .filter(|l| l.lines.iter().any(|x| x == line))
            .map(|l| (l.caller.clone(), l.callee.clone()))
    }

    /// `op` on the call `callref`, whoever's line it is: the simulated
    /// network's own doing (a supervised transfer's end, a merge).
    async fn act_any(&self, callref: &str, op: Op) -> Result<(), ControlError> {
        let line = self
            .lock()
            .get(callref)
            .and_then(|l| l.lines.first().cloned())
            .ok_or(ControlError::NoSuchCall)?;
        self.act(&line, callref, op).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `op` on the call `callref`, asked by a desk of `line`.
    pub async fn act(&self, line: &str, callref: &str, op: Op) -> Result<(), ControlError> {
        let cmd = {
            let live = self.lock();
            match live.get(callref) {
                Some(l) if l.lines.iter().any(|x| x == line) => l.cmd.clone(),
                _ => return Err(ControlError::NoSuchCall),
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if cmd.send((line.to_owned(), op, tx)).is_err() {
            return Err(ControlError::NoSuchCall);
        }
        rx.await.unwrap_or(Err(ControlError::NoSuchCall))
    }
}

/// One simulated call: its sides on our lines, its course.
struct SimCall {
    sim: Sim,
    callref: String,
    /// The parties, in their one identity.
    caller: String,
    callee: String,
    legs: Vec<Leg>,
    auto: Auto,
    /// Told when the call is answered (a supervised transfer waits on it).
    on_answer: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// Where a simulated call stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    Ringing,
    Talking,
    /// In the call park, at this slot.
    Parked(String),
    Over,
}

impl SimCall {
    fn events(&self, pick: impl Fn(&Leg) -> Option<Event>) -> Vec<LineEvent> {
        self.legs
            .iter()
            .filter_map(|l| pick(l).map(|e| l.event(e)))
            .collect()
    }

    async fn emit(&self, pick: impl Fn(&Leg) -> Option<Event>) -> bool {
        play(&self.sim.ingest, self.events(pick)).await
    }

    async fn run(self, mut rx: tokio::sync::mpsc::UnboundedReceiver<Command>) {
        let t = self.sim.timings;
        let mut stage = Stage::Ringing;
        let started = self.emit(|l| {
            Some(match l.direction {
                Direction::Out => Event::Dial,
                Direction::In => Event::Ring,
            })
        });
        if !started.await {
            stage = Stage::Over;
        }
        while stage != Stage::Over {
            let limit = match (&stage, self.auto) {
                (Stage::Parked(_), _) => MANUAL_LIMIT,
                (Stage::Ringing, Auto::Manual) | (Stage::Talking, Auto::Manual) => MANUAL_LIMIT,
                (Stage::Ringing, _) => t.ring,
                _ => t.talk,
            };
            tokio::select! {
                _ = tokio::time::sleep(limit) => {
                    stage = match (&stage, self.auto) {
                        (Stage::Ringing, Auto::Answer) => self.connect().await,
                        // Rang out, talked its time, waited too long in
                        // the park: over.
                        _ => self.release().await,
                    };
                }
                cmd = rx.recv() => {
                    let Some((line, op, reply)) = cmd else { break };
                    let (next, result) = self.apply(stage.clone(), &line, op).await;
                    stage = next;
                    let _ = reply.send(result);
                }
            }
        }
        self.unpark_slot();
        self.sim.lock().remove(&self.callref);
        // Whoever asked while the call ended: it is gone.
        rx.close();
        while let Ok((_, _, reply)) = rx.try_recv() {
            let _ = reply.send(Err(ControlError::NoSuchCall));
        }
    }

    async fn connect(&self) -> Stage {
        let told = self
            .on_answer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(tx) = told {
            let _ = tx.send(());
        }
        if self.emit(|_| Some(Event::Connect)).await {
            Stage::Talking
        } else {
            Stage::Over
        }
    }

    async fn release(&self) -> Stage {
        self.emit(|_| Some(Event::Release)).await;
        Stage::Over
    }

    /// The party of `side`, in its one identity.
    fn party(&self, side: Side) -> String {
        match side {
            Side::Caller => self.caller.clone(),
            Side::Callee => self.callee.clone(),
        }
    }

    /// `party`, if it is one of our lines with a side of this call.
    fn own_line(&self, party: &str) -> Option<String> {
        self.legs
            .iter()
            .find(|l| l.line == party)
            .map(|l| l.line.clone())
    }

    /// The park's slot this call holds, freed.
    fn unpark_slot(&self) {
        let mut park = self.sim.park.lock().unwrap_or_else(|p| p.into_inner());
        park.retain(|_, callref| callref != &self.callref);
    }

    /// Parks the call at `slot` (none: the first free one).
    async fn park(&self, stage: Stage, slot: Option<String>) -> (Stage, Result<(), ControlError>) {
        let slot = {
            let mut park = self.sim.park.lock().unwrap_or_else(|p| p.into_inner());
            let slot = match slot {
                Some(s) if park.contains_key(&s) => {
                    return (
                        stage,
                        Err(ControlError::NotNow(format!("park slot {s} is taken"))),
                    )
                }
                Some(s) => s,
                None => match (1..=999)
                    .map(|n| n.to_string())
                    .find(|s| !park.contains_key(s))
                {
                    Some(s) => s,
                    None => {
                        return (
                            stage,
                            Err(ControlError::NotNow("the call park is full".into())),
                        )
                    }
                },
            };
            park.insert(slot.clone(), self.callref.clone());
            slot
        };
        let events: Vec<LineEvent> = self
            .legs
            .iter()
            .map(|l| LineEvent {
                slot: Some(slot.clone()),
                ..l.event(Event::Park)
            })
            .collect();
        if play(&self.sim.ingest, events).await {
            (Stage::Parked(slot), Ok(()))
        } else {
            (Stage::Over, Ok(()))
        }
    }

    /// What a desk's operation (from `line`) does, in this stage.
    async fn apply(&self, stage: Stage, line: &str, op: Op) -> (Stage, Result<(), ControlError>) {
        let not_now = |what: &str| {
            (
                stage.clone(),
                Err(ControlError::NotNow(format!(
                    "{what}: the call is {}",
                    match &stage {
                        Stage::Ringing => "ringing".to_owned(),
                        Stage::Talking => "answered".to_owned(),
                        Stage::Parked(slot) => format!("in the call park (slot {slot})"),
                        Stage::Over => "over".to_owned(),
                    }
                ))),
            )
        };
        match (op, stage.clone()) {
            (Op::Answer, Stage::Ringing) => (self.connect().await, Ok(())),
            (Op::Answer, _) => not_now("it cannot be answered"),
            (Op::Hangup, Stage::Ringing | Stage::Talking | Stage::Parked(_)) => {
                self.unpark_slot();
                (self.release().await, Ok(()))
            }
            (Op::Reject, Stage::Ringing) => {
                // To the callee's voicemail: missed for its line.
                (self.release().await, Ok(()))
            }
            (Op::Reject, _) => not_now("only a ringing call can be rejected"),
            (Op::Transfer { side, to }, Stage::Talking) => {
                // The side transferred talks with `to` (a new call, which
                // replaces this one); the other side's part is over.
                let party = self.party(side);
                let from_line = self.own_line(&party);
                let stage = self.release().await;
                self.sim.start(
                    from_line.as_deref(),
                    &party,
                    &to,
                    self.auto,
                    Some(self.callref.clone()),
                    None,
                );
                (stage, Ok(()))
            }
            (Op::SupervisedTransfer { side, to, timer }, Stage::Talking) => {
                self.supervised_transfer(side, &to, timer);
                (stage, Ok(()))
            }
            (Op::SupervisedTransfer { .. }, _) => {
                not_now("only an answered call can be transferred")
            }
            (
                Op::Merge {
                    side,
                    other,
                    other_side,
                },
                Stage::Talking,
            ) => match self.merge(line, side, &other, other_side).await {
                Ok(stage) => (stage, Ok(())),
                Err(e) => (stage, Err(e)),
            },
            (Op::Merge { .. }, _) => not_now("only answered calls can be merged"),
            (Op::Transfer { .. }, _) => not_now("only an answered call can be transferred"),
            (Op::Park { slot, .. }, Stage::Talking) => self.park(stage.clone(), slot).await,
            (Op::Pause, Stage::Talking) => {
                // On the line's own slot: its number's digits.
                let own: String = line.chars().filter(char::is_ascii_alphanumeric).collect();
                self.park(stage.clone(), Some(own)).await
            }
            (Op::Park { .. } | Op::Pause, _) => not_now("only an answered call can be parked"),
            (Op::Unpark, Stage::Parked(_)) => {
                self.unpark_slot();
                if self.emit(|_| Some(Event::Unpark)).await {
                    (Stage::Talking, Ok(()))
                } else {
                    (Stage::Over, Ok(()))
                }
            }
            (Op::Unpark, _) => not_now("it is not in the call park"),
            (_, Stage::Over) => not_now("nothing can be done"),
        }
    }

    /// `to` rings; answered in time, it takes this call's place; else it
    /// is called off and this call goes on.
    fn supervised_transfer(&self, side: Side, to: &str, timer: u32) {
        let party = self.party(side);
        let from_line = self.own_line(&party);
        let (tx, answered) = tokio::sync::oneshot::channel();
        let consult = self.sim.start(
            from_line.as_deref(),
            &party,
            to,
            self.auto,
            Some(self.callref.clone()),
            Some(tx),
        );
        let sim = self.sim.clone();
        let original = self.callref.clone();
        let limit = if timer == 0 {
            MANUAL_LIMIT
        } else {
            Duration::from_secs(u64::from(timer))
        };
        tokio::spawn(async move {
            match tokio::time::timeout(limit, answered).await {
                Ok(Ok(())) => {
                    let _ = sim.act_any(&original, Op::Hangup).await;
                }
                _ => {
                    let _ = sim.act_any(&consult, Op::Hangup).await;
                }
            }
        });
    }

    /// This call's `side` and call `other`'s `other_side` talk together
    /// in a new call (`other` must be this line's, answered); this call's
    /// stage after.
    async fn merge(
        &self,
        line: &str,
        side: Side,
        other: &str,
        other_side: Side,
    ) -> Result<Stage, ControlError> {
        let other_parties = self
            .sim
            .parties(line, other)
            .ok_or(ControlError::NoSuchCall)?;
        let party = self.party(side);
        let other_party = match other_side {
            Side::Caller => other_parties.0,
            Side::Callee => other_parties.1,
        };
        self.sim.act(line, other, Op::Hangup).await?;
        let stage = self.release().await;
        let merged = self.sim.start(
            self.own_line(&party).as_deref(),
            &party,
            &other_party,
            Auto::Manual,
            Some(self.callref.clone()),
            None,
        );
        // Merged calls are talking already.
        let _ = self.sim.act_any(&merged, Op::Answer).await;
        Ok(stage)
    }
}

/// One party's side of a simulated call.
struct Leg {
    line: String,
    tel: String,
    called: String,
    callref: String,
    direction: Direction,
    /// The call this one replaces (a transfer's new call).
    replaces: Option<String>,
}

impl Leg {
    fn new(line: &str, tel: &str, called: &str, callref: &str, direction: Direction) -> Leg {
        Leg {
            line: line.to_owned(),
            tel: tel.to_owned(),
            called: called.to_owned(),
            callref: callref.to_owned(),
            direction,
            replaces: None,
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
            replaces: self.replaces.clone(),
            person: None,
            slot: None,
            at: 0,
        }
    }
}
