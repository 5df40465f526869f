//! What a drill tells: each line to the execution log as it happens and into the
//! drill's output, and each check by name with its result.

use fleetdeck_api::DrillCheck;

use crate::executor::LogSink;

/// Longest check detail kept: one line in a table, the whole story is in the output.
const DETAIL_CHARS: usize = 300;

pub struct Report {
    log: LogSink,
    lines: Vec<String>,
    pub checks: Vec<DrillCheck>,
}

impl Report {
    pub fn new(log: LogSink) -> Report {
        Report {
            log,
            lines: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The log, for a program that streams its own output there.
    pub fn sink(&self) -> LogSink {
        self.log.clone()
    }

    pub fn info(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.log.info(&text);
        self.lines.push(text);
    }

    fn warn(&mut self, text: String) {
        self.log.warn(&text);
        self.lines.push(text);
    }

    /// A program's output, already forwarded to the log as it ran: kept for the output.
    pub fn printed(&mut self, lines: &[String]) {
        self.lines.extend(lines.iter().cloned());
    }

    pub fn check(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        let detail: String = detail.into();
        let detail = fleetdeck_api::text::sanitize_line(detail.trim());
        let detail: String = detail.chars().take(DETAIL_CHARS).collect();
        if passed {
            self.info(format!("check {name}: passed — {detail}"));
        } else {
            self.warn(format!("check {name}: FAILED — {detail}"));
        }
        self.checks.push(DrillCheck {
            name: name.to_string(),
            passed,
            detail,
        });
    }

    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.check(name, true, detail);
    }

    pub fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.check(name, false, detail);
    }

    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn output(&self) -> String {
        self.lines.join("\n")
    }
}
