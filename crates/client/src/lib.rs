//! The client side of ctibridge: numbers, the plain-data request and the
//! one HTTP client, answers, provider rules, tokens, `dial`, and the call
//! events of `watch` with their screen pop. Built on the param language
//! ([`ctibridge_lang`]), never on the server.
//!
//! The surface is small: the modules themselves are private (`imp`), and
//! each module below names what the crates above may use of it. Inside
//! this crate the same paths reach everything (`pub(crate) use …::*`).

mod cache;
mod imp;
mod launch;
mod provider;
mod token;

// The language's modules, under the paths this crate's code names them by.
#[cfg(test)]
use ctibridge_lang::load;
use ctibridge_lang::{config, diag, param, redact, schema, source, template};

/// A value read out of a provider's answer.
pub mod answer {
    pub use crate::imp::answer::read_json;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::answer::*;
}

/// What the client takes from its surroundings (folders, opener, clock).
pub mod context {
    pub use crate::imp::context::Context;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::context::*;
}

/// Placing a call: `ctibridge dial`, and the server's dialer.
pub mod dial {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::dial::*;
    pub use crate::imp::dial::{
        dial, forward_profile, sms, teldest, values, DialRequest, Dialer, Outcome,
    };
}

/// `ctibridge doctor`: the provider's side, checked without a call.
pub mod doctor {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::doctor::*;
    pub use crate::imp::doctor::{
        erp, first_failure, provider, Check, Failing, Scope, Status, CERT_WARN_DAYS, EVENTS_LIMIT,
        SAMPLE_CALLER,
    };
}

/// Call events: the one call model, reading event answers, `watch`.
pub mod events {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::events::*;

    /// Event names of the param file's event source.
    pub mod call {
        #[allow(unused_imports)]
        pub(crate) use crate::imp::events::call::*;
        pub use crate::imp::events::call::{duration, EventNames};
    }

    /// The one call model: events, directions, states.
    pub mod model {
        #[allow(unused_imports)]
        pub(crate) use crate::imp::events::model::*;
        pub use crate::imp::events::model::{CallState, Direction, Event, Transition};
    }

    /// Reading the event source's answers.
    pub mod read {
        #[allow(unused_imports)]
        pub(crate) use crate::imp::events::read::*;
        pub use crate::imp::events::read::{read_answer, RawEvent};
    }

    /// `ctibridge watch`: the poll loop.
    pub mod watch {
        #[allow(unused_imports)]
        pub(crate) use crate::imp::events::watch::*;
        pub use crate::imp::events::watch::{
            ask_bridge, follow, probe, shutdown_signal, watch, Fault, Probe, Stop, WatchOptions,
            LOG_TARGET,
        };
    }
}

/// Why a request of the dial side did not happen.
pub mod failure {
    pub use crate::imp::failure::Failure;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::failure::*;
}

/// `ctibridge install-handler`.
pub mod handler {
    pub use crate::imp::events::popup::notify_now;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::handler::*;
    pub use crate::imp::handler::{in_build_folder, install, plan_for_this_platform};
}

/// The one HTTP client.
pub mod http {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::http::*;
    pub use crate::imp::http::{ClientOptions, HttpClient, HttpResponse, SendError, MAX_BODY};
}

/// `<debug>1`'s log file.
pub mod logfile {
    pub use crate::imp::logfile::LogFile;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::logfile::*;
}

/// Names for numbers: the local directory and the matching rule.
pub mod names {
    pub use crate::imp::callers::{Callers, How, Resolved, LOG_TARGET};
    #[allow(unused_imports)]
    pub(crate) use crate::imp::names::*;
    pub use crate::imp::names::{key_of, Directory, Found, LineProblem, Lookup, Person};
}

/// `<report>`: a finished call written back into the ERP.
pub mod report {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::report::*;
    pub use crate::imp::report::{
        dry_run, finished_from_event, send, values, wanted, DeskOutbox, FinishedCall, NotKept,
        DESK_TRIES,
    };
}

/// Numbers: what the user clicked, and a line's one identity.
pub mod number {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::number::*;
    pub use crate::imp::number::{
        identity, identity_in, identity_of_international, is_dial_uri, parse_target,
    };
}

/// A request as plain data.
pub mod request {
    pub use crate::imp::request::HttpRequest;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::request::*;
}
