//! `ctibridge serve`: the bridge server. For now its event hub; the CTI
//! web service, notifications, journal and simulator build on it.

pub mod hub;
