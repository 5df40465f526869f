//! Executor output into the execution log: every line an operation prints becomes an
//! `executor.output` event while the operation runs.

use fleetdeck_api::{EventSubject, kinds};

use super::engine::Shared;
use crate::executor::{LogLine, LogSink};
use crate::store::events::{NewEvent, append};

/// Where output lines of one operation are filed.
#[derive(Debug, Clone)]
pub(crate) struct LogTo {
    pub subject: EventSubject,
    pub correlation: Option<String>,
}

/// Runs `op` with a sink whose lines are appended as events as they arrive (batched by
/// whatever is ready, one transaction a batch). Every line is written before this
/// returns, so the outcome event that follows comes after its output.
pub(crate) async fn with_log<'a, T>(
    shared: &Shared,
    to: &LogTo,
    op: impl FnOnce(LogSink) -> futures_util::future::BoxFuture<'a, T>,
) -> T {
    let (sink, mut rx) = LogSink::channel();
    let fut = op(sink);
    tokio::pin!(fut);
    let out = loop {
        tokio::select! {
            biased;
            out = &mut fut => break out,
            Some(line) = rx.recv() => {
                let mut batch = vec![line];
                while let Ok(l) = rx.try_recv() {
                    batch.push(l);
                }
                write(shared, to, batch).await;
            }
        }
    };
    let mut rest = Vec::new();
    while let Ok(l) = rx.try_recv() {
        rest.push(l);
    }
    write(shared, to, rest).await;
    out
}

async fn write(shared: &Shared, to: &LogTo, lines: Vec<LogLine>) {
    if lines.is_empty() {
        return;
    }
    let result = async {
        let mut tx = shared.store.begin().await?;
        for l in lines {
            let ev = NewEvent::new("executor", kinds::EXECUTOR_OUTPUT, l.level, l.text)
                .subject(to.subject.clone())
                .correlation(to.correlation.clone());
            append(&mut tx, ev).await?;
        }
        shared.store.commit(tx).await
    }
    .await;
    if let Err(e) = result {
        // Losing a log line must not fail the operation it describes.
        tracing::warn!("executor output for {} not logged: {e}", to.subject.label());
    }
}
