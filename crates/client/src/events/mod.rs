//! Call events: the one call model ([`model`]), reading the event source's
//! answers ([`read`]), tying events into calls ([`call`]), the screen pop (`popup`) and the poll loop of
//! `ctibridge watch` ([`watch`]).

pub mod call;
pub mod model;
pub(crate) mod popup;
pub mod read;
pub mod watch;
