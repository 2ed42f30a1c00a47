//! `ctibridge dial`, `sms` and `forward-profile`: one request each through
//! the configured provider.

use ctibridge::dial::{self, DialRequest, Outcome};
use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::logfile::LogFile;

use crate::session::Session;

pub(crate) fn dial(opts: &LocateOptions, req: DialRequest, log_file: &LogFile) -> Exit {
    // A link clicked (or a `callto:` the ERP launched): nobody sees stderr,
    // so a failure is also shown as a desktop notification.
    let from_link = ctibridge::number::is_dial_uri(&req.target)
        && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => {
            if from_link {
                tell_desktop(
                    &req.target,
                    "the param files have errors: run `ctibridge check`",
                );
            }
            return exit;
        }
    };
    tracing::debug!(target = %req.target, interface = s.config().interface.value.as_str(), "dial");
    match s
        .runtime
        .block_on(dial::dial(&s.context, s.config(), &req, s.fallback()))
    {
        Ok(Outcome::Placed { status }) => {
            tracing::info!(status, "call placed");
            // The number in the form the provider was sent (`$teldest$`).
            let number =
                dial::teldest(s.config(), &req.target).unwrap_or_else(|_| req.target.clone());
            outln!("call placed to {number} (answered HTTP {status})");
            Exit::Ok
        }
        Ok(Outcome::Launched { program }) => {
            tracing::info!(program, "command started");
            outln!("call handed to {program}");
            Exit::Ok
        }
        Ok(Outcome::DryRun(text)) => {
            out!("{text}");
            Exit::Ok
        }
        Err(failure) => {
            let exit = s.fail(&failure);
            if from_link {
                tell_desktop(&req.target, &failure.to_string());
            }
            exit
        }
    }
}

/// A desktop notification that the call to `target` failed, and why
/// (secrets masked); the log says when none can be shown.
fn tell_desktop(target: &str, why: &str) {
    let number =
        ctibridge::number::parse_target(target).map_or_else(|_| target.to_owned(), |t| t.number);
    let title = format!("ctibridge: the call to {number} failed");
    let body = ctibridge::redact::mask(why).into_owned();
    if let Err(e) = ctibridge::handler::notify_now(&crate::env::context(), &title, &body) {
        tracing::warn!("the failure could not be shown on the desktop: {e}");
    }
}

/// Keyyo's guide limits a message to 64 characters.
const SMS_MAX_CHARS: usize = 64;

pub(crate) fn sms(
    opts: &LocateOptions,
    log_file: &LogFile,
    number: String,
    message: String,
    dry_run: bool,
) -> Exit {
    if message.chars().count() > SMS_MAX_CHARS {
        errln!(
            "error: the message has {} characters; at most {SMS_MAX_CHARS} can be sent\n  = help: nothing was sent",
            message.chars().count()
        );
        return Exit::BadInput;
    }
    if message.trim().is_empty() {
        errln!("error: the message is empty\n  = help: nothing was sent");
        return Exit::BadInput;
    }
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    match s.runtime.block_on(dial::sms(
        &s.context,
        s.config(),
        number,
        message,
        s.fallback(),
        dry_run,
    )) {
        Ok(Outcome::DryRun(text)) => {
            out!("{text}");
            Exit::Ok
        }
        Ok(_) => Exit::Ok,
        Err(failure) => s.fail(&failure),
    }
}

pub(crate) fn forward_profile(
    opts: &LocateOptions,
    log_file: &LogFile,
    name: String,
    dry_run: bool,
) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    match s.runtime.block_on(dial::forward_profile(
        &s.context,
        s.config(),
        name,
        s.fallback(),
        dry_run,
    )) {
        Ok(Outcome::DryRun(text)) => {
            out!("{text}");
            Exit::Ok
        }
        Ok(_) => Exit::Ok,
        Err(failure) => s.fail(&failure),
    }
}
