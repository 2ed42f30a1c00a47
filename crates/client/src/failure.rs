//! Why a request of the dial side did not happen — the configuration, the
//! number, the network or the provider — and the exit code of each.

use crate::diag::Diagnostic;
use crate::number::NumberError;

/// Why a dial did not happen (the binary maps each to its exit code).
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: something in the param files.
    Config(Vec<Diagnostic>),
    /// Exit 3: nothing was sent.
    BadNumber(NumberError),
    /// Exit 4.
    Network(Diagnostic),
    /// Exit 5.
    Refused(Diagnostic),
}

/// The failure on one line, without its place in the files (for a log
/// line or a server's answer): each problem's message, `; `-separated.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Config(ds) => {
                for (i, d) in ds.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    f.write_str(&d.message)?;
                }
                Ok(())
            }
            Failure::BadNumber(e) => write!(f, "{e}"),
            Failure::Network(d) | Failure::Refused(d) => f.write_str(&d.message),
        }
    }
}
