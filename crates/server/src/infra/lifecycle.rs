//! How the server starts and stops: its log target, and how long a
//! stopping part is waited for.

/// The log target of the server's start and stop lines, which the command
/// line shows at its default verbosity (one line each, for journald).
pub const LIFECYCLE: &str = "ctibridge::serve";
/// How long the stop waits for connections to finish their answer.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
