//! Command mode (`:`): what a line means, how it completes, and the nearest command
//! when it means nothing. Every action of the global, pane and detail layers is also a
//! command under its keymap name, so no action is lost by remapping.

use crate::app::view::Pane;
use crate::keymap::{Layer, NamedAction};
use crate::theme::Theme;

/// The commands that are not keymap actions, with what they do (help, docs).
pub const COMMANDS: &[(&str, &str)] = &[
    ("fleet", "focus the Fleet pane"),
    ("rings", "focus the Rings pane"),
    ("evidence", "focus the Evidence pane"),
    ("approvals", "focus the Approvals pane"),
    ("log", "jump to the log, zoomed"),
    ("ctx", "switch to another context: :ctx NAME"),
    ("theme", "switch theme: :theme NAME"),
    (
        "sort",
        "sort the focused pane by a column, again to reverse: :sort COLUMN",
    ),
    (
        "readonly",
        "toggle read-only (on only, in a read-only context)",
    ),
    (
        "mouse",
        "toggle mouse capture; off lets the terminal select text: :mouse [on|off]",
    ),
    ("help", "show the keys"),
    ("q", "quit"),
];

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Focus(Pane),
    Log,
    Ctx(String),
    Theme(String),
    /// A column of the focused pane, by its `:sort` word.
    Sort(String),
    ReadOnly,
    /// Capture the mouse (`Some(true)`), release it, or toggle (`None`).
    Mouse(Option<bool>),
    Help,
    Quit,
    Action(NamedAction),
}

/// What the arguments of a command may be, for completion.
pub struct Known<'a> {
    pub contexts: &'a [String],
    pub themes: Vec<String>,
    /// The focused pane's sortable columns (none on the log).
    pub columns: Vec<&'static str>,
}

/// The actions runnable as commands: those of layers that act on the console.
pub fn action_commands() -> impl Iterator<Item = NamedAction> {
    NamedAction::ALL
        .iter()
        .copied()
        .filter(|a| Layer::ALL.iter().any(|l| l.commandable() && l.allows(*a)))
}

/// Every command word, sorted.
pub fn command_words() -> Vec<&'static str> {
    let mut words: Vec<&str> = COMMANDS.iter().map(|(w, _)| *w).collect();
    words.extend(action_commands().map(NamedAction::name));
    words.sort_unstable();
    words.dedup();
    words
}

fn theme_names(known: &Known) -> Vec<String> {
    let mut names: Vec<String> = Theme::NAMES.iter().map(|n| n.to_string()).collect();
    names.extend(known.themes.iter().cloned());
    names
}

/// Reads a command line; an error is a sentence naming what was not understood and,
/// when there is one, the nearest thing that would be.
pub fn parse(line: &str, known: &Known) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let Some(word) = words.next() else {
        return Err("empty command: type a command, Tab completes".into());
    };
    let arg = words.next();
    if let Some(extra) = words.next() {
        return Err(format!(
            "'{word}' takes at most one argument; '{extra}' is extra"
        ));
    }
    let need = |what: &str, choices: Vec<String>| -> Result<String, String> {
        let Some(a) = arg else {
            return Err(format!(
                ":{word} needs a {what}: one of {}",
                choices.join(", ")
            ));
        };
        if choices.iter().any(|c| c == a) {
            return Ok(a.to_string());
        }
        Err(unknown(&format!("{what} '{a}'"), a, &choices))
    };
    let no_arg = |cmd: Command| match arg {
        Some(a) => Err(format!(":{word} takes no argument ('{a}' is extra)")),
        None => Ok(cmd),
    };
    match word {
        "fleet" => no_arg(Command::Focus(Pane::Fleet)),
        "rings" => no_arg(Command::Focus(Pane::Rings)),
        "evidence" => no_arg(Command::Focus(Pane::Evidence)),
        "approvals" => no_arg(Command::Focus(Pane::Approvals)),
        "log" => no_arg(Command::Log),
        "ctx" => need("context", known.contexts.to_vec()).map(Command::Ctx),
        "theme" => need("theme", theme_names(known)).map(Command::Theme),
        "sort" if known.columns.is_empty() => {
            Err("the log has no columns: focus a table pane (1-4)".into())
        }
        "sort" => need("column", owned(&known.columns)).map(Command::Sort),
        "readonly" => no_arg(Command::ReadOnly),
        "mouse" => match arg {
            None => Ok(Command::Mouse(None)),
            Some("on") => Ok(Command::Mouse(Some(true))),
            Some("off") => Ok(Command::Mouse(Some(false))),
            Some(a) => Err(unknown(
                &format!("mouse setting '{a}'"),
                a,
                &["on".into(), "off".into()],
            )),
        },
        "help" => no_arg(Command::Help),
        "q" | "quit" => no_arg(Command::Quit),
        other => match NamedAction::parse(other).filter(|a| action_commands().any(|c| c == *a)) {
            Some(action) => no_arg(Command::Action(action)),
            None => Err(unknown(
                &format!("command '{other}'"),
                other,
                &owned(&command_words()),
            )),
        },
    }
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn unknown(what: &str, typed: &str, choices: &[String]) -> String {
    match nearest(typed, choices) {
        Some(near) => format!("unknown {what}: did you mean '{near}'?"),
        None => format!("unknown {what}: Tab lists what is possible"),
    }
}

/// The choice with the smallest edit distance to `typed`, if it is close enough to be
/// a plausible typo (at most a third of the word, at least one edit).
pub fn nearest<'c>(typed: &str, choices: &'c [String]) -> Option<&'c str> {
    let limit = (typed.chars().count() / 3).max(1);
    choices
        .iter()
        .map(|c| (edit_distance(typed, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Whole-line completions of `line`, sorted: command words, or a command's arguments.
pub fn complete(line: &str, known: &Known) -> Vec<String> {
    let ends_in_space = line.ends_with(' ');
    let words: Vec<&str> = line.split_whitespace().collect();
    let starts = |choices: Vec<String>, prefix: &str, before: &str| -> Vec<String> {
        let mut out: Vec<String> = choices
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| format!("{before}{c}"))
            .collect();
        out.sort();
        out.dedup();
        out
    };
    match (words.as_slice(), ends_in_space) {
        ([], _) => starts(owned(&command_words()), "", ""),
        ([w], false) => starts(owned(&command_words()), w, ""),
        ([cmd], true) | ([cmd, _], false) => {
            let prefix = if ends_in_space { "" } else { words[1] };
            let choices = match *cmd {
                "ctx" => known.contexts.to_vec(),
                "theme" => theme_names(known),
                "mouse" => vec!["off".into(), "on".into()],
                "sort" => owned(&known.columns),
                _ => return Vec::new(),
            };
            starts(choices, prefix, &format!("{cmd} "))
        }
        _ => Vec::new(),
    }
}
