//! What the client side takes from its surroundings, handed down by the
//! binary (or the demo, or a test) rather than read from the environment
//! deep inside: the cache folder (tokens, the request pace shared by the
//! processes of this machine, OVH's clock offset), the log folder of
//! `<debug>1`, the desktop's opener, and the wall clock.

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::provider::pace::Pacer;
use crate::token::TokenStore;

#[derive(Clone, Debug)]
pub struct Context {
    cache_dir: Option<PathBuf>,
    log_dir: Option<PathBuf>,
    opener: String,
    /// A desktop session bus is there (notifications can be shown).
    desktop_bus: bool,
    clock: Clock,
}

impl Default for Context {
    /// No cache or log folder; the platform's opener.
    fn default() -> Context {
        Context {
            cache_dir: None,
            log_dir: None,
            opener: platform_opener().to_owned(),
            desktop_bus: false,
            clock: Clock::default(),
        }
    }
}

/// The desktop's opener for a URI on this platform.
fn platform_opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        // Not `cmd /c start`: that would be a shell.
        "explorer.exe"
    } else {
        "xdg-open"
    }
}

impl Context {
    /// The context the binary reads from its environment: `cache_dir`
    /// (tokens, the shared pace), `log_dir` (`<debug>1`), the desktop's
    /// `opener` (`None`: the platform's), whether the desktop has a
    /// session bus for notifications.
    pub fn new(
        cache_dir: Option<PathBuf>,
        log_dir: Option<PathBuf>,
        opener: Option<String>,
        desktop_bus: bool,
    ) -> Context {
        Context {
            cache_dir,
            log_dir,
            opener: opener.unwrap_or_else(|| platform_opener().to_owned()),
            desktop_bus,
            clock: Clock::default(),
        }
    }

    /// This context with `clock` instead of the system's.
    pub fn with_clock(self, clock: Clock) -> Context {
        Context { clock, ..self }
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// A context whose cache folder is `dir` (nothing else set).
    pub fn with_cache_dir(dir: PathBuf) -> Context {
        Context {
            cache_dir: Some(dir),
            ..Context::default()
        }
    }

    /// Where `<debug>1` writes its trace; none when the platform has none.
    pub fn log_dir(&self) -> Option<&Path> {
        self.log_dir.as_deref()
    }

    /// The desktop's opener for a URI (`<cmdshellexecute>OPEN`, a
    /// screen pop's page).
    pub fn opener(&self) -> &str {
        &self.opener
    }

    /// Whether the desktop has a session bus (freedesktop notifications).
    pub fn desktop_bus(&self) -> bool {
        self.desktop_bus
    }

    /// ctibridge's cache folder; none when the platform has none.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Where tokens are kept between launches.
    pub fn tokens(&self) -> TokenStore {
        match &self.cache_dir {
            Some(d) => TokenStore::at(d.join("tokens")),
            None => TokenStore::nowhere(),
        }
    }

    /// The request pace shared by the processes of this machine.
    pub fn pacer(&self) -> Pacer {
        match &self.cache_dir {
            Some(d) => Pacer::at(d.join("pace"), self.clock),
            None => Pacer::nowhere(self.clock),
        }
    }
}
