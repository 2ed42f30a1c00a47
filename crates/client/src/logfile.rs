//! `<debug>1`: a trace of every run in `DhDivaltoClickToCall.log`, as
//! Divalto writes one, in the user's log folder. Secrets never reach it:
//! what is logged is masked where it is logged.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file name Divalto uses for its own trace.
pub(crate) const LOG_FILE: &str = "DhDivaltoClickToCall.log";

/// A log writer that writes nowhere until [`LogFile::open`] is called:
/// logging starts before the configuration says whether to trace.
#[derive(Clone, Default)]
pub struct LogFile(Arc<Mutex<Option<File>>>);

impl LogFile {
    /// Opens (appending) the log file in `dir` (the context's log
    /// folder); returns its path.
    pub fn open(&self, dir: Option<&Path>) -> io::Result<PathBuf> {
        let dir = dir.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no log folder on this platform")
        })?;
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path)?;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(file);
        }
        Ok(path)
    }

    pub fn is_open(&self) -> bool {
        self.0.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.lock() {
            Ok(mut slot) => match slot.as_mut() {
                Some(f) => f.write(buf),
                None => Ok(buf.len()),
            },
            Err(_) => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.lock() {
            Ok(mut slot) => slot.as_mut().map_or(Ok(()), |f| f.flush()),
            Err(_) => Ok(()),
        }
    }
}
