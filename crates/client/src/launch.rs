//! Starting programs for the user: the `<callto>` command, the screen pop,
//! the desktop's opener. Never through a shell.

use std::process::{Command, Stdio};

/// Starts `program` with `args` and returns at once. A small thread reaps
/// it and logs a failure (`what` says which program it was). Its output goes
/// to our stderr: stdout belongs to `watch`'s event lines.
pub fn spawn_detached(program: &str, args: &[String], what: &'static str) -> std::io::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()?;
    let program = program.to_owned();
    let reaper = std::thread::Builder::new()
        .name("reaper".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || match child.wait() {
            Ok(status) if status.success() => tracing::debug!(program, "{what} done"),
            Ok(status) => tracing::warn!("{what} `{program}` failed: {status}"),
            Err(e) => tracing::warn!("{what} `{program}`: {e}"),
        });
    if let Err(e) = reaper {
        // The child runs anyway; it is only not reaped until we exit.
        tracing::debug!("cannot start a thread to wait for `{what}`: {e}");
    }
    Ok(())
}
