//! A call's events as the server keeps and hands them out.

use serde::Serialize;

pub use ctibridge_client::events::model::{Direction, Event};

/// One event for one line, as `getevent` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineEvent {
    /// The hub's number for it: the cursor a station sends back.
    #[serde(skip)]
    pub seq: u64,
    /// The line it is for.
    #[serde(skip)]
    pub line: String,
    pub event: Event,
    /// The other party: the caller of an incoming call, the callee of an
    /// outgoing one.
    pub tel: String,
    /// The number called.
    pub called: String,
    /// The call's reference.
    pub callref: String,
    pub direction: Direction,
    /// The call this one replaces (picked up by a colleague, transferred:
    /// Keyyo's DREF_REPLACE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Who the other party is, as the server's `<lookup>` found it:
    /// `name`, `company`, `record`.
    #[serde(flatten)]
    pub person: Option<ctibridge_client::names::Person>,
    /// The call park's slot (a PARK event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// When the server received it, in ms since 1970: the time desks show
    /// and the journal keeps, whenever a desk reads it. 0 until the
    /// journal's writer stamps it.
    pub at: i64,
}

/// A call waiting in the account's call park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParkedCall {
    pub callref: String,
    pub slot: String,
    /// The two parties, in E.164 (`+33…`).
    pub caller: String,
    pub callee: String,
    /// When it was parked (ms since 1970).
    pub since: i64,
}
