//! The call journal: every call event of every line, in SQLite, so it
//! survives a restart; a line's calls — states, times, durations,
//! direction, the call each replaced — are folded from its events when
//! asked. What the Keyyo CTI `get_calls` gives: made, received and missed
//! calls per line.
//!
//! The journal is a log (one row appended per event, in the order
//! published) rather than a table of calls updated in place: appending is
//! the cheapest write SQLite has, and the journal is written at a
//! provider's notification rate, while histories are read now and then.

mod backend;
mod desks;
mod log;
mod outbox;
mod shared;
mod writer;

pub use log::Journal;
pub use shared::SharedJournal;
pub use writer::{Idle, NotQueued, Writer};
