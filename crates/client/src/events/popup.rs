//! The screen pop ("montée de fiche") of `<popup>`: a command, a page opened
//! with the desktop's opener, a desktop notification. Everything is started
//! and never waited for: the poll loop goes on at once.

use crate::config::{Config, PopupSpec, Template};
use crate::context::Context;
use crate::diag::{Code, Diagnostic};
use crate::events::call::CallEvent;
use crate::launch::spawn_detached;
use crate::param::scan_keywords;
use crate::source::Span;
use crate::template::{expand, Place, Values};

/// `<popup>`, ready to run.
#[derive(Debug)]
pub(crate) struct ScreenPop {
    /// `<command>` split into words, each a template.
    command: Option<Vec<Template>>,
    open_url: Option<Template>,
    notify: bool,
    /// The station's keywords.
    station: Values,
    notifier: Notifier,
    /// The desktop's opener, for `<open_url>`.
    opener: String,
    /// A desktop session bus is there (the context's).
    desktop_bus: bool,
}

/// What a screen pop started, for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Started {
    pub command: Option<String>,
    pub opened: bool,
    pub notified: bool,
}

impl ScreenPop {
    /// Splits the command into words. `None` when there is no `<popup>`.
    /// Pages are handed to the context's opener.
    pub fn new(config: &Config, context: &Context) -> Result<Option<ScreenPop>, Diagnostic> {
        let Some(spec) = &config.popup else {
            return Ok(None);
        };
        Ok(Some(ScreenPop {
            command: spec.command.as_ref().map(split_command).transpose()?,
            open_url: spec.open_url.as_ref().map(|u| u.value.clone()),
            notify: notify_on(spec, config),
            station: Values::from_station(&config.station),
            notifier: Notifier::default(),
            opener: context.opener().to_owned(),
            desktop_bus: context.desktop_bus(),
        }))
    }

    /// Starts everything `<popup>` asks for the call of `ev`. A part that
    /// cannot start is logged; the others still run.
    pub fn run(&mut self, ev: &CallEvent) -> Started {
        let values = Values {
            event: Some(ev.event.clone()),
            caller: ev.caller.clone(),
            called: ev.callee.clone(),
            callref: ev.call_id.clone(),
            name: ev.person.as_ref().map(|p| p.name.clone()),
            company: ev.person.as_ref().map(|p| p.company.clone()),
            erp_record: Some(
                ev.person
                    .as_ref()
                    .map(|p| p.record.clone())
                    .unwrap_or_default(),
            ),
            ..self.station.clone()
        };
        let mut started = Started::default();
        if let Some(words) = &self.command {
            match expand_all(words, Place::Command, &values) {
                Ok(words) => match words.split_first() {
                    Some((program, args)) => {
                        match spawn_detached(program, args, "screen-pop command") {
                            Ok(()) => started.command = Some(program.clone()),
                            Err(e) => tracing::warn!(
                                "cannot start the screen-pop command `{program}`: {e}"
                            ),
                        }
                    }
                    None => tracing::warn!("the screen-pop command is empty"),
                },
                Err(e) => {
                    tracing::warn!("screen-pop command not started: {}", e.diagnostic.message)
                }
            }
        }
        if let Some(url) = &self.open_url {
            match expand(url, Place::Url, &values) {
                Ok(url) => {
                    let program = self.opener.clone();
                    match spawn_detached(&program, &[url], "page opener") {
                        Ok(()) => started.opened = true,
                        Err(e) => {
                            tracing::warn!("cannot open the screen-pop page with `{program}`: {e}")
                        }
                    }
                }
                Err(e) => tracing::warn!("screen-pop page not opened: {}", e.diagnostic.message),
            }
        }
        if self.notify {
            started.notified = self.notifier.show(ev, self.desktop_bus);
        }
        started
    }
}

/// Notifications, unless `<noshowwindow>1` turns them off.
fn notify_on(spec: &PopupSpec, config: &Config) -> bool {
    spec.notify.value && !config.global.noshowwindow.value
}

fn split_command(cmd: &crate::config::Setting<Template>) -> Result<Vec<Template>, Diagnostic> {
    let span = cmd.span().unwrap_or(Span::first_file());
    let words = crate::launch::split_words(&cmd.value.text).map_err(|e| {
        Diagnostic::error(
            Code::BadCommand,
            span,
            format!("the command cannot be split into words: {e}"),
        )
        .with_help("close every quote")
    })?;
    if words.is_empty() {
        return Err(Diagnostic::error(
            Code::BadCommand,
            span,
            "the command is empty",
        ));
    }
    Ok(words
        .into_iter()
        .map(|w| Template {
            parts: scan_keywords(&w, span, &mut Vec::new()),
            text: w,
        })
        .collect())
}

fn expand_all(
    words: &[Template],
    place: Place,
    values: &Values,
) -> Result<Vec<String>, crate::template::ExpandError> {
    words.iter().map(|w| expand(w, place, values)).collect()
}

/// Desktop notifications: `notify-send` on the freedesktop session bus,
/// `osascript` on macOS. Each problem is reported once, not per call.
#[derive(Debug, Default)]
struct Notifier {
    warned: bool,
}

impl Notifier {
    fn show(&mut self, ev: &CallEvent, desktop_bus: bool) -> bool {
        let title = "Incoming call";
        let who = match &ev.person {
            Some(p) => format!("{}\n", p.display()),
            None => String::new(),
        };
        let body = format!(
            "{who}{} → {}  {}",
            ev.caller.as_deref().unwrap_or("withheld number"),
            ev.callee.as_deref().unwrap_or("?"),
            ev.when().format("%H:%M:%S")
        );
        match show_notification(title, &body, desktop_bus) {
            Ok(()) => true,
            Err(why) => {
                self.warn_once(&why);
                false
            }
        }
    }

    fn warn_once(&mut self, why: &str) {
        if !self.warned {
            self.warned = true;
            tracing::warn!("desktop notifications are off: {why}");
        }
    }
}

/// Shows a desktop notification: the notifier command started (Unix), or
/// the toast handed to Windows (a call that does not wait for the user).
fn show_notification(title: &str, body: &str, desktop_bus: bool) -> Result<(), String> {
    #[cfg(windows)]
    {
        let _ = desktop_bus;
        toast(title, body)
    }
    #[cfg(not(windows))]
    {
        let (program, args) = notification_command(title, body, desktop_bus)?;
        spawn_detached(&program, &args, "notification")
            .map_err(|e| format!("cannot start `{program}`: {e}"))
    }
}

/// Windows' toast notification, from ctibridge (its application id, which
/// `install-handler` registers for the user).
#[cfg(windows)]
fn toast(title: &str, body: &str) -> Result<(), String> {
    tauri_winrt_notification::Toast::new(crate::handler::APP_ID)
        .title(title)
        .text1(body)
        .show()
        .map_err(|e| format!("Windows did not take the toast: {e}"))
}

/// Shows a desktop notification now, and waits (5 s at most) until the
/// notifier took it: for a process about to exit (a failed click).
pub fn notify_now(context: &Context, title: &str, body: &str) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    #[cfg(windows)]
    let what = {
        let _ = context;
        let (title, body) = (title.to_owned(), body.to_owned());
        std::thread::spawn(move || {
            let _ = tx.send(toast(&title, &body));
        });
        "the toast".to_owned()
    };
    #[cfg(not(windows))]
    let what = {
        use std::process::{Command, Stdio};
        let (program, args) = notification_command(title, body, context.desktop_bus())?;
        let mut child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start `{program}`: {e}"))?;
        let shown = format!("`{program}`");
        let named = shown.clone();
        std::thread::spawn(move || {
            let _ = tx.send(match child.wait() {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(format!("{named} failed: {status}")),
                Err(e) => Err(format!("{named}: {e}")),
            });
        });
        shown
    };
    match rx.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(done) => done,
        Err(_) => Err(format!("{what} did not return within 5 s")),
    }
}

#[cfg(target_os = "macos")]
fn notification_command(
    title: &str,
    body: &str,
    _desktop_bus: bool,
) -> Result<(String, Vec<String>), String> {
    // AppleScript string literals: escape backslashes and quotes.
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    Ok((
        "osascript".to_owned(),
        vec![
            "-e".to_owned(),
            format!(
                "display notification {} with title {}",
                quote(body),
                quote(title)
            ),
        ],
    ))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn notification_command(
    title: &str,
    body: &str,
    desktop_bus: bool,
) -> Result<(String, Vec<String>), String> {
    if !desktop_bus {
        return Err("no desktop session bus (DBUS_SESSION_BUS_ADDRESS is not set)".to_owned());
    }
    Ok((
        "notify-send".to_owned(),
        vec![
            "--app-name=ctibridge".to_owned(),
            // The words after the options are never read as options.
            "--".to_owned(),
            title.to_owned(),
            body.to_owned(),
        ],
    ))
}

#[cfg(not(any(unix, windows)))]
fn notification_command(
    _title: &str,
    _body: &str,
    _desktop_bus: bool,
) -> Result<(String, Vec<String>), String> {
    Err("not supported on this platform".to_owned())
}
