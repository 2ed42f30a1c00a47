//! Which exit code an error ends a command with: the one place that says
//! it (the codes themselves, and their table in `--help`, are
//! [`ctibridge::exit`]).

use ctibridge::exit::Exit;
use ctibridge::failure::Failure;
use ctibridge::server::ServeError;

/// An error a command can end with.
pub(crate) trait EndsWith {
    fn exit(&self) -> Exit;
}

impl EndsWith for Failure {
    fn exit(&self) -> Exit {
        match self {
            Failure::Config(_) => Exit::Config,
            Failure::BadNumber(_) => Exit::BadInput,
            Failure::Network(_) => Exit::Network,
            Failure::Refused(_) => Exit::Refused,
        }
    }
}

impl EndsWith for ctibridge::doctor::Failing {
    fn exit(&self) -> Exit {
        use ctibridge::doctor::Failing;
        match self {
            Failing::Config => Exit::Config,
            Failing::System => Exit::System,
            Failing::Network => Exit::Network,
            Failing::Refused => Exit::Refused,
        }
    }
}

impl EndsWith for ServeError {
    fn exit(&self) -> Exit {
        match self {
            // A file the system does not let the server open.
            ServeError::Journal { .. } => Exit::System,
            // The address is in use or not this machine's.
            ServeError::Listen { .. } => Exit::Network,
            // The certificate the server file names cannot be served.
            ServeError::Tls(_) => Exit::Config,
            // The kept refresh token is unreadable.
            ServeError::KeyyoCti(_) => Exit::System,
        }
    }
}

/// The command's runtime cannot start (no thread, no descriptor left).
pub(crate) struct NoRuntime;

impl EndsWith for NoRuntime {
    fn exit(&self) -> Exit {
        Exit::System
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_refusing_is_not_a_network_failure() {
        let journal = ServeError::Journal {
            path: None,
            cause: rusqlite::Error::InvalidQuery,
        };
        assert_eq!(journal.exit(), Exit::System);
        assert_eq!(NoRuntime.exit(), Exit::System);
        let listen = ServeError::Listen {
            addr: "127.0.0.1:1".parse().expect("addr"),
            cause: std::io::ErrorKind::AddrInUse.into(),
        };
        assert_eq!(listen.exit(), Exit::Network);
    }
}
