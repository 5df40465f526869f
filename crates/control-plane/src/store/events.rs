//! The event log: the execution log and the audit trail in one append-only sequence.

use fleetdeck_api::{Change, Event, EventSubject, Level, Seq};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use super::{Tx, fmt_time, parse_time, to_i64, to_u64};
use crate::DomainError;

/// An event to append; `seq` and `at` are assigned by [`append`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: String,
    pub kind: String,
    pub level: Level,
    pub subject: EventSubject,
    pub message: String,
    pub correlation_id: Option<String>,
    pub change: Option<Change>,
}

impl NewEvent {
    pub fn new(
        actor: impl Into<String>,
        kind: &str,
        level: Level,
        message: impl Into<String>,
    ) -> Self {
        NewEvent {
            actor: actor.into(),
            kind: kind.to_string(),
            level,
            subject: EventSubject::default(),
            message: message.into(),
            correlation_id: None,
            change: None,
        }
    }

    pub fn subject(mut self, s: EventSubject) -> Self {
        self.subject = s;
        self
    }

    pub fn change(mut self, c: Change) -> Self {
        self.change = Some(c);
        self
    }

    pub fn correlation(mut self, id: Option<String>) -> Self {
        self.correlation_id = id;
        self
    }
}

/// Appends `ev` inside `tx` with the next sequence number. The message is sanitised:
/// it may carry executor output or user text and ends up on terminals and in logs.
///
/// The write lock is held for the whole transaction and every event is appended here,
/// so after the first append of a transaction the next number is the previous plus one.
pub async fn append(tx: &mut Tx<'_>, ev: NewEvent) -> Result<Event, DomainError> {
    let event = defer_append(tx, ev).await?;
    tx.flush().await?;
    Ok(event)
}

/// [`append`], the write deferred (see [`Tx::defer`]): it reaches SQLite with the
/// transaction's next send, and nothing may use the connection before that.
pub async fn defer_append(tx: &mut Tx<'_>, ev: NewEvent) -> Result<Event, DomainError> {
    let seq = match tx.newest_seq() {
        Some(newest) => newest + 1,
        None => {
            tx.flush().await?;
            last_seq(&mut **tx).await? + 1
        }
    };
    let event = Event {
        seq,
        at: super::now(),
        actor: fleetdeck_api::text::sanitize_line(&ev.actor).into_owned(),
        kind: ev.kind,
        level: ev.level,
        subject: ev.subject,
        message: fleetdeck_api::text::sanitize(&ev.message).into_owned(),
        correlation_id: ev.correlation_id,
        change: ev.change,
    };
    let change_json = event
        .change
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    tx.defer(
        "INSERT INTO events (seq, at, actor, kind, level, campaign_id, database_id, \
         approval_id, drill_id, ring, message, correlation_id, change_json) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(to_i64(seq))
    .bind(fmt_time(event.at))
    .bind(event.actor.as_str())
    .bind(event.kind.as_str())
    .bind(event.level.as_str())
    .bind(event.subject.campaign_id.as_deref())
    .bind(event.subject.database_id.as_deref())
    .bind(event.subject.approval_id.as_deref())
    .bind(event.subject.drill_id.as_deref())
    .bind(event.subject.ring.map(i64::from))
    .bind(event.message.as_str())
    .bind(event.correlation_id.as_deref())
    .bind(change_json);
    tx.appended(seq);
    Ok(event)
}

const COLUMNS: &str = "seq, at, actor, kind, level, campaign_id, database_id, approval_id, \
                       drill_id, ring, message, correlation_id, change_json";

/// Events with a sequence number above `after`, oldest first, at most `limit`.
pub async fn after<'e>(
    db: impl SqliteExecutor<'e>,
    after: Seq,
    limit: usize,
) -> Result<Vec<Event>, DomainError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_i64(after))
        .bind(to_i64(limit as u64))
        .fetch_all(db)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The newest `count` events, oldest first.
pub async fn recent<'e>(
    db: impl SqliteExecutor<'e>,
    count: usize,
) -> Result<Vec<Event>, DomainError> {
    let sql = format!("SELECT {COLUMNS} FROM events ORDER BY seq DESC LIMIT ?");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_i64(count as u64))
        .fetch_all(db)
        .await?;
    let mut events = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    Ok(events)
}

/// The newest sequence number, 0 when the log is empty, as an expression.
pub(super) const LAST_SEQ_EXPR: &str = "(SELECT COALESCE(MAX(seq), 0) FROM events)";

/// The newest sequence number, 0 when the log is empty.
pub async fn last_seq<'e>(db: impl SqliteExecutor<'e>) -> Result<Seq, DomainError> {
    let seq: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {LAST_SEQ_EXPR}")))
        .fetch_one(db)
        .await?;
    to_u64(seq, "event seq")
}

fn parse_level(s: &str) -> Level {
    match s {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" => Level::Warn,
        "error" => Level::Error,
        _ => Level::Unknown,
    }
}

fn from_row(row: &SqliteRow) -> Result<Event, DomainError> {
    let ring: Option<i64> = row.try_get("ring")?;
    let change_json: Option<String> = row.try_get("change_json")?;
    Ok(Event {
        seq: to_u64(row.try_get("seq")?, "event seq")?,
        at: parse_time(&row.try_get::<String, _>("at")?)?,
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        level: parse_level(&row.try_get::<String, _>("level")?),
        subject: EventSubject {
            campaign_id: row.try_get("campaign_id")?,
            database_id: row.try_get("database_id")?,
            approval_id: row.try_get("approval_id")?,
            drill_id: row.try_get("drill_id")?,
            ring: ring.and_then(|r| u8::try_from(r).ok()),
        },
        message: row.try_get("message")?,
        correlation_id: row.try_get("correlation_id")?,
        change: change_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[tokio::test]
    async fn sequence_is_contiguous_across_rollbacks_and_text_is_made_inert() {
        let (_dir, store) = temp_store().await;
        let mut seen = store.subscribe();

        let mut tx = store.begin().await.unwrap();
        let ev = NewEvent::new(
            "eve\u{1b}[2J",
            "test.event",
            Level::Warn,
            "a\u{1b}]52;c;aGk=\u{7}b",
        )
        .correlation(Some("req-1".into()));
        let first = append(&mut tx, ev).await.unwrap();
        store.commit(tx).await.unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(first.message, "a\u{FFFD}b");
        assert_eq!(first.actor, "eve\u{FFFD}");
        assert!(seen.has_changed().unwrap());
        assert_eq!(*seen.borrow_and_update(), 1);

        // A rolled-back transaction leaves no hole.
        let mut tx = store.begin().await.unwrap();
        append(
            &mut tx,
            NewEvent::new("x", "test.event", Level::Info, "gone"),
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let second = append(
            &mut tx,
            NewEvent::new("x", "test.event", Level::Info, "kept"),
        )
        .await
        .unwrap();
        store.commit(tx).await.unwrap();
        assert_eq!(second.seq, 2);

        let all = after(store.pool(), 0, 10).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], first, "what is read back is what was appended");
        assert_eq!(recent(store.pool(), 1).await.unwrap()[0].seq, 2);
        assert_eq!(last_seq(store.pool()).await.unwrap(), 2);
    }
}
