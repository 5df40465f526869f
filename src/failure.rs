//! How a command fails: one line for the user and an exit code.

/// Exit code of a usage or configuration problem (bad flag, unreadable or malformed
/// file): the same code clap uses for a bad flag.
pub const USAGE: u8 = 2;
/// Exit code of a problem outside fleetdeck's inputs: an unreachable server, a refused
/// token, a terminal that failed.
pub const RUNTIME: u8 = 1;
/// Exit code of an action the server (or a read-only context) refused by policy or
/// state: a self-approval, a campaign that cannot be paused now, a changed version.
pub const REFUSED: u8 = 3;
/// Exit code of a wait that ran out of time.
pub const TIMED_OUT: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: RUNTIME,
            message: message.into(),
        }
    }

    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            code: REFUSED,
            message: message.into(),
        }
    }

    pub fn timed_out(message: impl Into<String>) -> Failure {
        Failure {
            code: TIMED_OUT,
            message: message.into(),
        }
    }
}
