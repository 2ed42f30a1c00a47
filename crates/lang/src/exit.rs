//! Exit codes, in one place. Documented in README.md and `--help`.

use std::process::ExitCode;

/// What a run ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked (for `dial`: the call was placed).
    Ok = 0,
    /// The machine refused what the command needs: a runtime or a thread
    /// cannot start, the call journal cannot be opened.
    System = 1,
    /// A configuration error: a param file is missing or wrong.
    Config = 2,
    /// What to send is not sendable — a number that is not a phone number,
    /// an SMS that is too long or empty; nothing was sent.
    BadInput = 3,
    /// The provider could not be reached.
    Network = 4,
    /// The provider refused the request.
    Refused = 5,
    /// The command line is wrong (an unknown option, a missing value):
    /// sysexits' `EX_USAGE`, apart from the configuration's 2.
    Usage = 64,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The table shown by `--help` and README.md.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  done (dial: the call was placed)
  1  the system refused (a runtime, a thread or the call journal cannot start)
  2  configuration error (a param file is missing or wrong)
  3  bad input: not a number, or an SMS too long or empty (nothing was sent)
  4  network failure
  5  the provider refused
 64  usage error (the command line is wrong)";
