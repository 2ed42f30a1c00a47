//! Who places the calls and acts on them: the simulator, a provider's
//! dial request (the server file's `<cliktocalldial>`), Keyyo's CTI
//! session (with or without a dial request of its own), or nothing. One
//! per server, chosen once by `serve`; the routes ask it, never which one
//! it is.

use std::sync::Arc;

use serde_json::{json, Value};

use ctibridge_client::failure::Failure;

use crate::model::control::{ControlError, LineOp, Op};
use crate::sources::dialer::{DialThread, NotDialled};
use crate::sources::health;
use crate::sources::keyyo_cti::Cti;
use crate::sources::sim::Sim;

/// A provider's dial request, run on a thread of its own.
pub struct Dialer {
    /// `Err`: the client could not be set up (a bad `<cafile>`…), told to
    /// each dial as a dial of its own would be.
    pub thread: Result<DialThread, Arc<Failure>>,
    /// The provider's host and port (`/healthz` tries a connection).
    pub host: Option<(String, u16)>,
    /// "provider keyyo", "the server file's provider".
    pub name: String,
}

/// The server's provider.
pub enum Provider {
    Simulator(Sim),
    Dialer(Dialer),
    /// Keyyo's CTI session acts on the calls; it dials from its own line
    /// unless the server file also has a dial request.
    KeyyoCti {
        cti: Cti,
        dialer: Option<Dialer>,
    },
    None,
}

/// A dial that was placed.
pub enum Dialled {
    /// By the simulator, with its call's reference.
    Simulated(String),
    /// By the provider (its call reference comes with its events).
    Placed,
}

/// Why a dial was not placed.
pub enum NotPlaced {
    /// The provider refused it, or could not be reached.
    Failed(Failure),
    /// The dial request could not be set up at all.
    Broken(Arc<Failure>),
    /// Keyyo's CTI session refused it.
    Control(ControlError),
    /// Not now: too many calls being placed, the server stopping, or
    /// nothing to dial through.
    Busy(&'static str),
}

impl Provider {
    /// Who places the calls, as an error names it ("the simulator",
    /// "provider keyyo").
    pub fn name(&self) -> &str {
        match self {
            Provider::Simulator(_) => "the simulator",
            Provider::Dialer(d) => &d.name,
            Provider::KeyyoCti { .. } => "Keyyo's CTI service",
            Provider::None => "this server (it has no provider)",
        }
    }

    /// The simulator, when it is the provider.
    pub fn sim(&self) -> Option<&Sim> {
        match self {
            Provider::Simulator(sim) => Some(sim),
            _ => None,
        }
    }

    /// Whether calls can be answered, hung up, transferred, parked.
    pub fn can_control(&self) -> bool {
        matches!(self, Provider::Simulator(_) | Provider::KeyyoCti { .. })
    }

    /// Whether calls can be placed.
    pub fn can_dial(&self) -> bool {
        !matches!(self, Provider::None)
    }

    /// Places a call from `line` to `tel` as the station wrote it
    /// (`callee`: the same in its one identity, for the simulator and
    /// Keyyo's CTI session).
    pub async fn dial(&self, line: &str, tel: &str, callee: &str) -> Result<Dialled, NotPlaced> {
        let dialer = match self {
            Provider::Simulator(sim) => return Ok(Dialled::Simulated(sim.dial(line, callee))),
            Provider::Dialer(d)
            | Provider::KeyyoCti {
                dialer: Some(d), ..
            } => d,
            // Keyyo's CTI session dials from its own line.
            Provider::KeyyoCti { cti, dialer: None } => {
                return match cti.dial(line, callee).await {
                    Ok(()) => Ok(Dialled::Placed),
                    Err(e) => Err(NotPlaced::Control(e)),
                }
            }
            Provider::None => return Err(NotPlaced::Busy("no provider to dial through")),
        };
        let thread = dialer
            .thread
            .as_ref()
            .map_err(|f| NotPlaced::Broken(f.clone()))?;
        // Placed from the line the station asked for (the dial engine puts
        // it in the provider's form of numbers: OVH wants 0033…, Keyyo
        // 33…), on the dial thread.
        let req = ctibridge_client::dial::DialRequest {
            target: tel.to_owned(),
            ..ctibridge_client::dial::DialRequest::default()
        };
        match thread.dial(line.to_owned(), req).await {
            Ok(Ok(_)) => Ok(Dialled::Placed),
            Ok(Err(f)) => Err(NotPlaced::Failed(f)),
            Err(NotDialled::Busy) => Err(NotPlaced::Busy("too many calls being placed: try again")),
            Err(NotDialled::Stopped) => Err(NotPlaced::Busy("the server is stopping")),
        }
    }

    /// Acts on call `callref` of `line`.
    pub async fn act(&self, line: &str, callref: &str, op: Op) -> Result<(), ControlError> {
        match self {
            Provider::Simulator(sim) => sim.act(line, callref, op).await,
            Provider::KeyyoCti { cti, .. } => {
                let (action, params) = crate::wire::keyyo_cti::action_of(&op, callref);
                cti.ask(action, params)
                    .await
                    .map(drop)
                    .map_err(|e| ControlError::Provider(format!("Keyyo CTI: {e}")))
            }
            _ => Err(self.unsupported(op.name())),
        }
    }

    /// An operation on `line` itself; numbers in the answer are E.164.
    pub async fn line_op(&self, line: &str, op: LineOp) -> Result<Value, ControlError> {
        let cti = match self {
            Provider::Simulator(sim) => return Ok(sim.line_op(line, op)),
            Provider::KeyyoCti { cti, .. } => cti,
            _ => return Err(self.unsupported(op.name())),
        };
        let (action, params) = crate::wire::keyyo_cti::line_action_of(&op);
        let result = cti
            .ask(action, params)
            .await
            .map_err(|e| ControlError::Provider(format!("Keyyo CTI: {e}")))?;
        Ok(match op {
            LineOp::GetAutoAnswer => json!({ "auto_answer": result["auto_answer"] }),
            LineOp::Subscriptions => {
                // Keyyo's numbers are international, without +.
                let numbers: Vec<String> = result["numbers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str())
                            .map(|n| {
                                if n == "callpark" || n.starts_with('+') {
                                    n.to_owned()
                                } else {
                                    format!("+{n}")
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!({ "numbers": numbers })
            }
            _ => json!({ "result": "OK" }),
        })
    }

    fn unsupported(&self, op: &'static str) -> ControlError {
        ControlError::Unsupported {
            provider: self.name().to_owned(),
            op,
        }
    }

    /// What `/healthz` checks of it.
    pub fn health(&self) -> health::ProviderCheck<'_> {
        let dialer = match self {
            Provider::Simulator(_) => return health::ProviderCheck::Simulator,
            Provider::Dialer(d)
            | Provider::KeyyoCti {
                dialer: Some(d), ..
            } => d,
            Provider::KeyyoCti { dialer: None, .. } | Provider::None => {
                return health::ProviderCheck::None
            }
        };
        match (&dialer.thread, &dialer.host) {
            (Err(f), _) => health::ProviderCheck::Broken(
                ctibridge_lang::redact::mask(&f.to_string()).into_owned(),
            ),
            (Ok(_), Some((host, port))) => health::ProviderCheck::At(host, *port),
            (Ok(_), None) => health::ProviderCheck::Broken(
                "the provider's address cannot be read from the dial request".into(),
            ),
        }
    }
}
