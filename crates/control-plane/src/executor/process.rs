//! Running one shell command: output streamed line by line as it arrives, a deadline
//! that kills the whole process group, and nothing left behind if the caller gives up.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;

use fleetdeck_api::Level;

use super::{ExecError, LogSink};

/// Longest line kept whole; a longer one is cut into pieces of this size.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Lines of output kept for the caller.
const KEPT_LINES: usize = 500;
/// Lines of one operation forwarded to the execution log; a command that prints more
/// is still read to the end, but the log gets a count instead of a flood.
pub(crate) const MAX_LOGGED_LINES: usize = 5000;
/// After the command exits, how long output is still read from a background process
/// it left holding the pipes. Such a process is not killed: it may be the database
/// the command just started.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// One command to run.
pub(crate) struct Run<'a> {
    pub operation: &'a str,
    pub shell: &'a Path,
    pub working_dir: Option<&'a Path>,
    pub command_line: String,
    pub env: Vec<(&'static str, &'a str)>,
    pub timeout: Duration,
}

/// What a command printed; `stdout` lines in order, `all` interleaved as they arrived.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub stdout: Vec<String>,
    pub all: Vec<String>,
    /// The last line printed on stderr, to explain a failure.
    pub last_stderr: Option<String>,
}

impl Output {
    fn keep(lines: &mut Vec<String>, line: String) {
        if lines.len() == KEPT_LINES {
            lines.remove(0);
        }
        lines.push(line);
    }

    /// The last line of stdout that is not blank.
    pub fn last_stdout_line(&self) -> Option<&str> {
        self.stdout
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
    }
}

/// Forwards lines to the log up to [`MAX_LOGGED_LINES`], then only counts them.
struct Forward<'a> {
    log: &'a LogSink,
    sent: usize,
    dropped: usize,
}

impl Forward<'_> {
    fn line(&mut self, level: Level, text: &str) {
        if self.sent < MAX_LOGGED_LINES {
            self.sent += 1;
            self.log.line(level, text);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(&self) {
        if self.dropped > 0 {
            self.log.warn(format!(
                "{} more output lines were not logged (at most {MAX_LOGGED_LINES} per operation)",
                self.dropped
            ));
        }
    }
}

/// Kills the process group unless disarmed: the command's children die with it when
/// it times out or when the caller drops the future (server shutdown).
struct GroupKill {
    pgid: Option<i32>,
}

impl GroupKill {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: kill(2) with a negative pid signals the process group the command
            // leads; it touches no memory of ours. The leader has not been reaped yet
            // (we disarm right after `wait`), so the group id cannot have been reused.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `run`, sending each output line to `log` as it arrives (stderr as warnings).
/// Success is exit code 0; the error says the code or the timeout and the last thing the
/// command said.
pub(crate) async fn run(run: Run<'_>, log: &LogSink) -> Result<Output, ExecError> {
    let mut cmd = Command::new(run.shell);
    cmd.arg("-c")
        .arg(&run.command_line)
        .envs(run.env.iter().copied())
        .env("FLEETDECK_OPERATION", run.operation);
    if let Some(dir) = run.working_dir {
        cmd.current_dir(dir);
    }
    let spawn_error = |e: std::io::Error| match run.working_dir {
        // The OS blames a missing working directory on the program; say which it is.
        Some(dir) if !dir.is_dir() => ExecError::new(format!(
            "cannot start the command: working_dir {} is not a directory",
            dir.display()
        )),
        _ => ExecError::new(format!("cannot start {}: {e}", run.shell.display())),
    };
    run_program(cmd, run.operation, run.timeout, log, spawn_error).await
}

/// [`run`] for a program already set up (arguments, environment, user): output and
/// deadline handled the same way; `spawn_error` says why it could not start.
pub(crate) async fn run_program(
    mut cmd: Command,
    operation: &str,
    timeout: Duration,
    log: &LogSink,
    spawn_error: impl FnOnce(std::io::Error) -> ExecError,
) -> Result<Output, ExecError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let mut guard = GroupKill {
        pgid: child.id().and_then(|id| i32::try_from(id).ok()),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ExecError::new("the command started without output pipes"));
    };
    let mut out = LineReader::new(stdout);
    let mut err = LineReader::new(stderr);
    let (mut out_done, mut err_done) = (false, false);
    let mut output = Output::default();
    let mut forward = Forward {
        log,
        sent: 0,
        dropped: 0,
    };
    let deadline = Instant::now() + timeout;
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        if out_done && err_done && exited.is_some() {
            break;
        }
        let grace_end = exited.map(|(_, at)| at + EXIT_GRACE);
        tokio::select! {
            line = out.next_line(), if !out_done => match line {
                Some(line) => {
                    forward.line(Level::Info, &line);
                    Output::keep(&mut output.stdout, line.clone());
                    Output::keep(&mut output.all, line);
                }
                None => out_done = true,
            },
            line = err.next_line(), if !err_done => match line {
                Some(line) => {
                    forward.line(Level::Warn, &line);
                    if !line.trim().is_empty() {
                        output.last_stderr = Some(line.clone());
                    }
                    Output::keep(&mut output.all, line);
                }
                None => err_done = true,
            },
            status = child.wait(), if exited.is_none() => {
                let status = status.map_err(|e| {
                    ExecError::new(format!("waiting for the command failed: {e}"))
                })?;
                // Reaped: from here the group may hold processes the command started on
                // purpose, and the leader's pid may be reused; never signal it.
                guard.pgid = None;
                exited = Some((status, Instant::now()));
            },
            _ = tokio::time::sleep_until(grace_end.unwrap_or(deadline)), if grace_end.is_some() => break,
            _ = tokio::time::sleep_until(deadline), if exited.is_none() => {
                guard.kill();
                let _ = child.wait().await;
                forward.finish();
                let message = format!(
                    "still running after {} s; its process group was killed",
                    timeout.as_secs_f64()
                );
                log.error(format!("{operation}: {message}"));
                return Err(ExecError::timeout(message));
            },
        }
    }
    forward.finish();
    let Some((status, _)) = exited else {
        return Err(ExecError::new("the command vanished before it exited"));
    };
    if status.success() {
        return Ok(output);
    }
    let how = match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "was killed by a signal".to_string(),
    };
    let said = output
        .last_stderr
        .as_deref()
        .or(output.last_stdout_line())
        .map(|l| format!(": {}", fleetdeck_api::text::sanitize_line(l.trim())))
        .unwrap_or_default();
    Err(ExecError::new(format!("{how}{said}")))
}

/// Reads lines from a pipe without trusting it: invalid UTF-8 is replaced, an endless
/// line is cut into pieces. Cancel-safe: bytes read are kept in the buffer.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            eof: false,
        }
    }

    fn take(&mut self, n: usize, skip: usize) -> String {
        let line: Vec<u8> = self.buf.drain(..n).collect();
        self.buf.drain(..skip);
        let line = String::from_utf8_lossy(&line);
        line.strip_suffix('\r').unwrap_or(&line).to_string()
    }

    async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                return Some(self.take(i, 1));
            }
            if self.buf.len() >= MAX_LINE_BYTES {
                return Some(self.take(MAX_LINE_BYTES, 0));
            }
            if self.eof {
                return (!self.buf.is_empty()).then(|| self.take(self.buf.len(), 0));
            }
            let mut chunk = [0u8; 4096];
            match self.inner.read(&mut chunk).await {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
