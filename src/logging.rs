//! Logs: stderr at the level `-v` asks, and the `<debug>1` log file.

use ctibridge::logfile::LogFile;

/// Logs on stderr at the level `-v` asks (or `CTIBRIDGE_LOG`), and at debug
/// level into the `<debug>1` log file once the configuration opens it.
pub(crate) fn init_logging(verbose: u8, quiet: &'static str) -> LogFile {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let level = match verbose {
        0 => quiet,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CTIBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let log_file = LogFile::default();
    let writer = log_file.clone();
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || ctibridge::redact::Masking::new(writer.clone()))
        .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
    // Under systemd, stderr goes to the journal, which times each line
    // itself: no second time stamp.
    // Where a line comes from in the code is for -vv; a person reads the
    // message.
    let stderr = tracing_subscriber::fmt::layer()
        .with_target(verbose >= 2)
        .with_writer(|| ctibridge::redact::Masking::new(std::io::stderr()));
    let stderr = if std::env::var_os("JOURNAL_STREAM").is_some() {
        stderr.without_time().with_filter(filter).boxed()
    } else {
        stderr.with_filter(filter).boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    log_file
}

/// Opens the log file, in `dir` (the context's log folder), when `<debug>1`.
pub(crate) fn open_debug_log(log_file: &LogFile, dir: Option<&std::path::Path>, debug: bool) {
    if debug && !log_file.is_open() {
        match log_file.open(dir) {
            Ok(path) => tracing::debug!(path = %path.display(), "debug log"),
            Err(e) => tracing::warn!("<debug>1 but the log file cannot be opened: {e}"),
        }
    }
}
