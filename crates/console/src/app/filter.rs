//! The `/` filter: what a query means and whether a row passes it.
//!
//! A query is words separated by spaces. `field:value` keeps rows whose field has that
//! value (numbers exactly, words by prefix: `health:deg`); a bare word is a fuzzy match
//! within one of the row's visible columns, and a clock time (`02:59`) a match of that
//! text as typed; `!` before either excludes instead (a bare `!word` excludes rows
//! containing the word, not fuzzy ones, so it never hides too much).
//! Every term must hold. A row is tested alone, so a change to one row re-tests that
//! row only, and a new log line is tested once, as it arrives.
//!
//! A fuzzy word's letters must be found in order within one column, close together:
//! the matched letters may span at most [`span_limit`] characters, so `pgordr` finds
//! `pg-orders-03` but not a row whose `p`, `g`, `o`… lie in five different columns or
//! far apart in one. Rows that pass are ranked by how well their words matched (the
//! matcher's score: consecutive letters and word starts count most), best first.

use std::sync::{Arc, Mutex};

use fleetdeck_api::{Approval, Campaign, Environment, Event, Evidence};
use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Matcher, Utf32Str};

use super::order::DbRow;
use super::view::Pane;

/// A row a pane can filter: its fields by name and its visible text.
pub trait Filterable {
    /// The fields `field:value` may name in this pane.
    const FIELDS: &'static [&'static str];
    /// The value of one field, lower-case.
    fn field(&self, name: &str) -> Option<String>;
    /// The text of each of the row's visible columns: a fuzzy word matches within one.
    fn columns(&self) -> Vec<String>;
}

/// The widest span of characters a fuzzy word of `n` characters may match across:
/// twice its length and two more (a few skipped letters, a separator or two), so a
/// word typed with letters left out still finds its row while letters scattered
/// through a long text do not.
pub fn span_limit(n: usize) -> usize {
    2 * n + 2
}

/// The field names of each pane.
pub fn fields_of(pane: Pane) -> &'static [&'static str] {
    match pane {
        Pane::Fleet => DbRow::FIELDS,
        Pane::Rings => Campaign::FIELDS,
        Pane::Evidence => Evidence::FIELDS,
        Pane::Approvals => Approval::FIELDS,
        Pane::Log => LogLine::FIELDS,
    }
}

enum Term {
    Fuzzy(Atom),
    Contains(Atom),
    Field { name: String, value: String },
}

/// A parsed query; terms it could not read are left out and said in `problem`.
pub struct Query {
    terms: Vec<(bool, Term)>,
    /// The bare words, for highlighting what matched.
    highlight: Vec<Term>,
    pub problem: Option<String>,
    matcher: Mutex<Matcher>,
}

impl Query {
    pub fn parse(text: &str, fields: &[&str]) -> Query {
        let mut terms = Vec::new();
        let mut highlight = Vec::new();
        let mut problems = Vec::new();
        for word in text.split_whitespace() {
            let (negate, word) = match word.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, word),
            };
            if word.is_empty() {
                continue;
            }
            // A clock time (`01:09`) is text to find as typed, not a field.
            let clock = word.split_once(':').is_some_and(|(name, _)| {
                word.bytes().all(|b| b.is_ascii_digit() || b == b':') && !name.is_empty()
            });
            if let Some((name, value)) = word.split_once(':').filter(|_| !clock) {
                let name = name.to_lowercase();
                if !fields.contains(&name.as_str()) {
                    problems.push(format!(
                        "no field '{name}' here (fields: {})",
                        fields.join(", ")
                    ));
                    continue;
                }
                if value.is_empty() {
                    // Still being typed: no opinion yet.
                    continue;
                }
                terms.push((
                    negate,
                    Term::Field {
                        name,
                        value: value.to_lowercase(),
                    },
                ));
                continue;
            }
            let atom =
                |kind| Atom::new(word, CaseMatching::Smart, Normalization::Smart, kind, false);
            if negate {
                terms.push((true, Term::Contains(atom(AtomKind::Substring))));
            } else if clock {
                highlight.push(Term::Contains(atom(AtomKind::Substring)));
                terms.push((false, Term::Contains(atom(AtomKind::Substring))));
            } else {
                highlight.push(Term::Fuzzy(atom(AtomKind::Fuzzy)));
                terms.push((false, Term::Fuzzy(atom(AtomKind::Fuzzy))));
            }
        }
        Query {
            terms,
            highlight,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
            matcher: Mutex::new(Matcher::default()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether the query ranks rows (it has a fuzzy word); else every row that passes
    /// ranks the same and the pane keeps its order.
    pub fn ranks(&self) -> bool {
        self.terms
            .iter()
            .any(|(negate, t)| !negate && matches!(t, Term::Fuzzy(_)))
    }

    pub fn matches<T: Filterable>(&self, row: &T) -> bool {
        self.rank(row).is_some()
    }

    /// Whether `row` passes, and its rank if it does: lower is a better match.
    pub fn rank<T: Filterable>(&self, row: &T) -> Option<u32> {
        let mut matcher = self.matcher.lock().unwrap_or_else(|e| e.into_inner());
        let mut columns: Option<Vec<String>> = None;
        let mut buf = Vec::new();
        let mut score: u32 = 0;
        for (negate, term) in &self.terms {
            let hit = match term {
                Term::Field { name, value } => row.field(name).is_some_and(|v| {
                    if value.bytes().all(|b| b.is_ascii_digit()) {
                        v == *value
                    } else {
                        v.starts_with(value.as_str())
                    }
                }),
                Term::Fuzzy(atom) => {
                    let columns = columns.get_or_insert_with(|| row.columns());
                    // The best column: a word means one thing, not letters from many.
                    let best = columns
                        .iter()
                        .filter_map(|c| fuzzy(atom, c, &mut matcher, &mut buf).map(|(s, _)| s))
                        .max();
                    if let Some(best) = best {
                        score += u32::from(best);
                    }
                    best.is_some()
                }
                Term::Contains(atom) => {
                    let columns = columns.get_or_insert_with(|| row.columns());
                    let text = columns.join(" ");
                    atom.score(Utf32Str::new(&text, &mut buf), &mut matcher)
                        .is_some()
                }
            };
            if hit == *negate {
                return None;
            }
        }
        Some(u32::MAX - score)
    }

    /// Character positions in `text` (one column as shown) the query's bare words
    /// matched, for highlighting: where a fuzzy word matches as the filter counts it.
    pub fn highlights(&self, text: &str) -> Vec<u32> {
        let mut matcher = self.matcher.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for term in &self.highlight {
            match term {
                Term::Fuzzy(atom) => {
                    if let Some((_, at)) = fuzzy(atom, text, &mut matcher, &mut buf) {
                        out.extend(at);
                    }
                }
                Term::Contains(atom) => {
                    atom.indices(Utf32Str::new(text, &mut buf), &mut matcher, &mut out);
                }
                Term::Field { .. } => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A fuzzy word in one text: its score and the positions it matched, if its letters
/// are there in order within [`span_limit`].
fn fuzzy(
    atom: &Atom,
    text: &str,
    matcher: &mut Matcher,
    buf: &mut Vec<char>,
) -> Option<(u16, Vec<u32>)> {
    // Most columns do not hold the letters at all: the score says so without indices.
    atom.score(Utf32Str::new(text, buf), matcher)?;
    let mut at = Vec::new();
    let score = atom.indices(Utf32Str::new(text, buf), matcher, &mut at)?;
    let (first, last) = (*at.iter().min()?, *at.iter().max()?);
    let span = (last - first) as usize + 1;
    (span <= span_limit(atom.needle_text().len())).then_some((score, at))
}

/// The active filter of one pane: what was typed and what it means.
#[derive(Clone)]
pub struct PaneFilter {
    pub text: String,
    pub query: Arc<Query>,
}

impl PaneFilter {
    pub fn new(pane: Pane, text: &str) -> PaneFilter {
        PaneFilter {
            text: text.to_string(),
            query: Arc::new(Query::parse(text, fields_of(pane))),
        }
    }

    /// What a collection keeps: which rows pass, best matches first.
    pub fn ranker<T: Filterable>(&self) -> super::indexes::Ranker<T> {
        let query = Arc::clone(&self.query);
        Box::new(move |row: &T| query.rank(row))
    }

    /// The predicate the log keeps: lines as shown, in UTC or local time.
    pub fn log_predicate(&self, local_time: bool) -> super::indexes::Predicate<Event> {
        let query = Arc::clone(&self.query);
        Box::new(move |event: &Event| query.matches(&LogLine { event, local_time }))
    }
}

fn env_word(e: Environment) -> String {
    e.as_str().to_string()
}

impl Filterable for DbRow {
    const FIELDS: &'static [&'static str] = &[
        "id", "engine", "version", "env", "tier", "ring", "role", "health", "evidence", "region",
        "team",
    ];

    fn field(&self, name: &str) -> Option<String> {
        let d = &self.db;
        Some(match name {
            "id" => d.id.to_lowercase(),
            "engine" => d.engine.to_lowercase(),
            "version" => d.engine_version.to_lowercase(),
            "env" => env_word(d.environment),
            "tier" => d.tier.to_string(),
            "ring" => d.ring.to_string(),
            "role" => d.role.as_str().to_string(),
            "health" => d.health.status.as_str().to_string(),
            "evidence" => self
                .freshness
                .map_or("none".into(), |f| f.as_str().to_string()),
            "region" => d.region.to_lowercase(),
            "team" => d.owner_team.to_lowercase(),
            _ => return None,
        })
    }

    fn columns(&self) -> Vec<String> {
        let d = &self.db;
        vec![
            d.id.clone(),
            format!("{} {}", d.engine, d.engine_version),
            env_word(d.environment),
            format!("T{}", d.tier),
            format!("R{}", d.ring),
            d.role.as_str().to_string(),
            d.health.status.as_str().to_string(),
        ]
    }
}

impl Filterable for Campaign {
    const FIELDS: &'static [&'static str] = &["id", "state", "ring", "version"];

    fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "id" => self.id.to_lowercase(),
            "state" => self.state.as_str().to_string(),
            "ring" => self.current_ring?.to_string(),
            "version" => self.target_version.to_lowercase(),
            _ => return None,
        })
    }

    fn columns(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.title.clone(),
            self.target_version.clone(),
            self.state.as_str().to_string(),
        ]
    }
}

impl Filterable for Evidence {
    const FIELDS: &'static [&'static str] = &["id", "evidence", "checksum"];

    fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "id" => self.database_id.to_lowercase(),
            "evidence" => self.freshness.as_str().to_string(),
            "checksum" => match self.latest.as_ref().and_then(|d| d.checksum_ok) {
                Some(true) => "ok".into(),
                Some(false) => "failed".into(),
                None => "none".into(),
            },
            _ => return None,
        })
    }

    fn columns(&self) -> Vec<String> {
        vec![
            self.database_id.clone(),
            self.freshness.as_str().to_string(),
        ]
    }
}

impl Filterable for Approval {
    const FIELDS: &'static [&'static str] = &["id", "kind", "by", "prod", "tier1"];

    fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "id" => self.id.to_lowercase(),
            "kind" => crate::ui::panes::approval_kind_word(self.kind).to_string(),
            "by" => self.requested_by.to_lowercase(),
            "prod" => self.blast_radius.prod.to_string(),
            "tier1" => self.blast_radius.tier1.to_string(),
            _ => return None,
        })
    }

    fn columns(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            crate::ui::panes::approval_kind_word(self.kind).to_string(),
            self.subject.clone(),
            self.requested_by.clone(),
        ]
    }
}

/// A log line as the Log pane shows it: its fields are the level, the event kind and
/// actor, and the ids of its subject; its text is what the line shows (time of day in
/// UTC or local time as toggled, level, actor, subject, message).
pub struct LogLine<'a> {
    pub event: &'a Event,
    pub local_time: bool,
}

impl Filterable for LogLine<'_> {
    const FIELDS: &'static [&'static str] = &[
        "level", "kind", "actor", "campaign", "ring", "db", "approval",
    ];

    fn field(&self, name: &str) -> Option<String> {
        let e = self.event;
        let s = &e.subject;
        Some(match name {
            "level" => e.level.as_str().to_string(),
            "kind" => e.kind.to_lowercase(),
            "actor" => e.actor.to_lowercase(),
            "campaign" => s.campaign_id.as_deref()?.to_lowercase(),
            "ring" => s.ring?.to_string(),
            "db" => s.database_id.as_deref()?.to_lowercase(),
            "approval" => s.approval_id.as_deref()?.to_lowercase(),
            _ => return None,
        })
    }

    fn columns(&self) -> Vec<String> {
        let e = self.event;
        vec![
            crate::ui::format::log_time(e.at, self.local_time),
            crate::ui::status::level_word(e.level).to_string(),
            e.actor.clone(),
            e.subject.label(),
            e.message.clone(),
        ]
    }
}
