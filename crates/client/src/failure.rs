//! Why a request of the dial side did not happen — the configuration, the
//! number, the network or the provider — and the exit code of each.

use crate::diag::Diagnostic;
use crate::exit::Exit;
use crate::number::NumberError;

/// Why a dial did not happen, by exit code.
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

impl Failure {
    pub fn exit(&self) -> Exit {
        match self {
            Failure::Config(_) => Exit::Config,
            Failure::BadNumber(_) => Exit::BadNumber,
            Failure::Network(_) => Exit::Network,
            Failure::Refused(_) => Exit::Refused,
        }
    }
}
