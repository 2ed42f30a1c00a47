//! What every command that uses the param files starts with.

use ctibridge::failure::Failure;
use ctibridge::load::{self, LocateOptions};
use ctibridge::logfile::LogFile;
use ctibridge::source::Span;

use ctibridge::exit::Exit;

use crate::exit::{EndsWith as _, NoRuntime};
use crate::logging::open_debug_log;

/// What every command that uses the param files starts with: the files
/// loaded and checked (every problem printed), the `<debug>1` log opened,
/// a current-thread runtime.
pub(crate) struct Session {
    pub(crate) loaded: load::Loaded,
    pub(crate) runtime: tokio::runtime::Runtime,
    /// What the client side takes from the environment (cache and log
    /// folders, the opener), read once here.
    pub(crate) context: ctibridge::context::Context,
}

impl Session {
    pub(crate) fn start(opts: &LocateOptions, log_file: &LogFile) -> Result<Session, Exit> {
        let loaded = load::load(crate::env::locations(opts));
        let Some(checked) = loaded.checked.as_ref().filter(|_| !loaded.has_errors()) else {
            err!("{}", loaded.diagnostics.render(&loaded.sources));
            return Err(Exit::Config);
        };
        let context = crate::env::context();
        open_debug_log(
            log_file,
            context.log_dir(),
            checked.config.global.debug.value,
        );
        let runtime = current_thread_runtime().map_err(|e| e.exit())?;
        Ok(Session {
            loaded,
            runtime,
            context,
        })
    }

    pub(crate) fn config(&self) -> &ctibridge::config::Config {
        &self
            .loaded
            .checked
            .as_ref()
            .expect("Session::start keeps only checked configurations")
            .config
    }

    /// Where problems with no line of their own are reported.
    pub(crate) fn fallback(&self) -> Span {
        Span::file(self.loaded.param_file())
    }

    /// Prints a failure at its line and gives its exit code.
    /// With `<debug>1` the failure goes to the log file too (a click's
    /// stderr goes nowhere).
    pub(crate) fn fail(&self, failure: &Failure) -> Exit {
        let sources = &self.loaded.sources;
        let shown = match failure {
            Failure::Config(ds) => ds.iter().map(|d| d.render(sources)).collect(),
            Failure::BadNumber(e) => format!("error: {e}\n  = help: nothing was sent\n"),
            Failure::Network(d) | Failure::Refused(d) => d.render(sources),
        };
        err!("{shown}");
        tracing::debug!(target: "ctibridge::failure", "{}", shown.trim_end());
        failure.exit()
    }
}

/// A runtime for the command (the error is printed).
pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, NoRuntime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            errln!("error: cannot start: {e}");
            NoRuntime
        })
}
