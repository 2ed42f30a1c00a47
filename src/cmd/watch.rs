//! `ctibridge watch`.

use ctibridge::events::watch::{self, WatchOptions};
use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::logfile::LogFile;

use crate::session::Session;

pub(crate) fn watch(opts: &LocateOptions, wopts: WatchOptions, log_file: &LogFile) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    match s.runtime.block_on(watch::watch(
        &s.context,
        s.config(),
        &wopts,
        &mut out,
        s.fallback(),
    )) {
        Ok(stop) => {
            tracing::info!(?stop, "watch stopped");
            Exit::Ok
        }
        Err(failure) => s.fail(&failure),
    }
}
