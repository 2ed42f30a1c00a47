//! The one place ctibridge reads its environment: the crates below are
//! handed what it says (the folders, the opener, the desktop's session
//! bus, the Keyyo secret), never read it themselves.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use ctibridge::context::Context;
use ctibridge::load::{LocateOptions, Locations};

/// An environment variable that is set and not empty.
pub(crate) fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Where the param files are, from the command line and the environment.
pub(crate) fn locations(opts: &LocateOptions) -> Locations {
    Locations::resolve(opts, |k| std::env::var_os(k))
}

/// The cache folder `CTIBRIDGE_CACHE_DIR`, else the platform's; the log
/// folder `CTIBRIDGE_LOG_DIR`, else the platform's state (or local data)
/// folder's `logs`; the opener `CTIBRIDGE_OPENER`, else the platform's;
/// whether a desktop session bus is there for notifications.
pub(crate) fn context() -> Context {
    let dirs = directories::ProjectDirs::from("", "", "ctibridge");
    let cache_dir = var("CTIBRIDGE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs.as_ref().map(|p| p.cache_dir().to_path_buf()));
    let log_dir = var("CTIBRIDGE_LOG_DIR").map(PathBuf::from).or_else(|| {
        dirs.as_ref().map(|p| {
            p.state_dir()
                .unwrap_or_else(|| p.data_local_dir())
                .join("logs")
        })
    });
    let opener = var("CTIBRIDGE_OPENER").map(|o| o.to_string_lossy().into_owned());
    Context::new(cache_dir, log_dir, opener, desktop_bus())
}

/// Whether freedesktop notifications can be shown: a session bus named by
/// `DBUS_SESSION_BUS_ADDRESS`, or its socket in `XDG_RUNTIME_DIR`. (Other
/// platforms show theirs without one.)
fn desktop_bus() -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    var("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists())
}

/// `<keyyo_notify>`'s secret from the environment, which takes the server
/// file's place.
pub(crate) fn keyyo_secret() -> Option<String> {
    std::env::var(ctibridge::server::settings::KEYYO_SECRET_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
}
