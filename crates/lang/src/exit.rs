//! Exit codes, in one place. Documented in README.md and `--help`.

use std::process::ExitCode;

/// What a run ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked (for `dial`: the call was placed).
    Ok = 0,
    /// A configuration error: a param file is missing or wrong.
    Config = 2,
    /// The number to call is not a phone number; nothing was sent.
    BadNumber = 3,
    /// The provider could not be reached.
    Network = 4,
    /// The provider refused the request.
    Refused = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The table shown by `--help` and README.md.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  done (dial: the call was placed)
  2  configuration error (a param file is missing or wrong)
  3  bad number (nothing was sent)
  4  network failure
  5  the provider refused";
