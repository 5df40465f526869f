//! Keys map to named actions, per layer; the keymap is data (`keymaps/default.toml`).
//!
//! File form: one table per layer, `action = "key"` or `action = ["key", "key"]`.
//! Unknown layers, actions and key names are errors with their line; a key bound to
//! two actions of one layer is reported as a conflict.

mod actions;
mod keys;

use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::KeyEvent;
use toml::Spanned;

pub use actions::{Layer, NamedAction};
pub use keys::KeyBinding;

const DEFAULT_KEYMAP: &str = include_str!("../../../../keymaps/default.toml");
/// Overrides of the default for vim users (the file lists only what differs).
const VIM_KEYMAP: &str = include_str!("../../../../keymaps/vim.toml");

/// Why a keymap file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("keymap line {line}: {message}")]
pub struct KeymapError {
    /// 1-based line of the offending entry (0 when the file as a whole is wrong).
    pub line: usize,
    pub message: String,
}

/// The active bindings: for each layer, keys in file order with their action.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    layers: BTreeMap<Layer, Vec<(KeyBinding, NamedAction)>>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

type FileForm = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<KeyList>>>;

/// One binding with where it came from: a line of the file being read, or `None`
/// for a binding kept from the keymap being overridden.
struct Entry {
    line: Option<usize>,
    layer: Layer,
    key_text: String,
    key: KeyBinding,
    action: NamedAction,
}

impl Entry {
    fn place(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => "the keymap it overrides".to_string(),
        }
    }
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::from_toml(DEFAULT_KEYMAP).expect("the embedded default keymap is valid")
    }
}

impl Keymap {
    /// Names of the keymaps built in.
    pub const NAMES: [&'static str; 2] = ["default", "vim"];

    /// A built-in keymap by name.
    pub fn by_name(name: &str) -> Option<Keymap> {
        match name {
            "default" => Some(Keymap::default()),
            "vim" => Some(
                Keymap::default()
                    .with_overrides(VIM_KEYMAP)
                    .expect("the embedded vim keymap is valid"),
            ),
            _ => None,
        }
    }

    pub fn from_toml(text: &str) -> Result<Keymap, KeymapError> {
        let (entries, _) = parse_entries(text)?;
        validate(entries)
    }

    /// This keymap with the actions a user file names rebound: an action the file
    /// names gets exactly the file's keys in that layer; every other binding stays.
    /// Conflicts are checked over the result, naming both actions.
    pub fn with_overrides(&self, text: &str) -> Result<Keymap, KeymapError> {
        // An action named with no keys (`zoom = []`) is overridden too: unbound.
        let (mut entries, overridden) = parse_entries(text)?;
        for (layer, bindings) in &self.layers {
            for (key, action) in bindings {
                if !overridden.contains(&(*layer, *action)) {
                    entries.push(Entry {
                        line: None,
                        layer: *layer,
                        key_text: key.label(),
                        key: *key,
                        action: *action,
                    });
                }
            }
        }
        validate(entries)
    }

    /// The action `key` has in `layer`, if any.
    pub fn lookup(&self, layer: Layer, key: &KeyEvent) -> Option<NamedAction> {
        let key = KeyBinding::from_event(key);
        self.layers
            .get(&layer)?
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| *a)
    }

    /// The keys bound to `action` in `layer`, in file order.
    pub fn keys(&self, layer: Layer, action: NamedAction) -> Vec<KeyBinding> {
        self.layers
            .get(&layer)
            .map(|b| {
                b.iter()
                    .filter(|(_, a)| *a == action)
                    .map(|(k, _)| *k)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Short label of the first key for `action`, for hints ("a", "Enter").
    pub fn hint(&self, layer: Layer, action: NamedAction) -> Option<String> {
        self.keys(layer, action).first().map(KeyBinding::label)
    }

    /// Every action of `layer` with all its keys, in file order (help overlay).
    pub fn describe_layer(&self, layer: Layer) -> Vec<(NamedAction, Vec<KeyBinding>)> {
        let mut out: Vec<(NamedAction, Vec<KeyBinding>)> = Vec::new();
        for (key, action) in self.layers.get(&layer).into_iter().flatten() {
            match out.iter_mut().find(|(a, _)| a == action) {
                Some((_, keys)) => keys.push(*key),
                None => out.push((*action, vec![*key])),
            }
        }
        out
    }
}

/// The file's bindings, and every (layer, action) it names.
type Parsed = (Vec<Entry>, BTreeSet<(Layer, NamedAction)>);

fn parse_entries(text: &str) -> Result<Parsed, KeymapError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: FileForm = toml::from_str(text).map_err(|e| KeymapError {
        line: e.span().map_or(0, |s| line_of(s.start)),
        message: e.message().trim().to_string(),
    })?;
    let mut errors: Vec<KeymapError> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut named = BTreeSet::new();
    for (layer_name, table) in &file {
        let Some(layer) = Layer::parse(layer_name.get_ref()) else {
            errors.push(KeymapError {
                line: line_of(layer_name.span().start),
                message: format!(
                    "unknown layer [{}]: use one of {}",
                    layer_name.get_ref(),
                    Layer::ALL.map(Layer::name).join(", ")
                ),
            });
            continue;
        };
        for (action_name, keys) in table {
            let line = line_of(action_name.span().start);
            let Some(action) =
                NamedAction::parse(action_name.get_ref()).filter(|a| layer.allows(*a))
            else {
                errors.push(KeymapError {
                    line,
                    message: format!(
                        "unknown action '{}' in [{}]",
                        action_name.get_ref(),
                        layer.name()
                    ),
                });
                continue;
            };
            named.insert((layer, action));
            let list = match keys.get_ref() {
                KeyList::One(k) => vec![k.clone()],
                KeyList::Many(ks) => ks.clone(),
            };
            for key_text in list {
                match KeyBinding::parse(&key_text) {
                    Ok(key) => entries.push(Entry {
                        line: Some(line),
                        layer,
                        key_text,
                        key,
                        action,
                    }),
                    Err(message) => errors.push(KeymapError { line, message }),
                }
            }
        }
    }
    match errors.into_iter().min_by_key(|e| e.line) {
        Some(first) => Err(first),
        None => Ok((entries, named)),
    }
}

/// Checks a whole set of bindings for conflicts and builds the keymap.
fn validate(mut entries: Vec<Entry>) -> Result<Keymap, KeymapError> {
    // Kept bindings first, then file order: a conflict is reported at the file's line.
    entries.sort_by_key(|e| e.line);
    let mut errors: Vec<KeymapError> = Vec::new();
    let mut seen: BTreeMap<(Layer, String), usize> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(&j) = seen.get(&(e.layer, e.key.label())) {
            let other = &entries[j];
            if other.action != e.action {
                errors.push(KeymapError {
                    line: e.line.unwrap_or(0),
                    message: format!(
                        "key '{}' in [{}] is bound to both {} ({}) and {} ({})",
                        e.key_text,
                        e.layer.name(),
                        other.action.name(),
                        other.place(),
                        e.action.name(),
                        e.place()
                    ),
                });
            }
        }
        seen.entry((e.layer, e.key.label())).or_insert(i);
    }
    // A layer asked first hides the keys of the layer asked after it: a pane key
    // that is also a global key would silently take, say, quit away.
    for e in &entries {
        let Some(below) = e.layer.asked_before() else {
            continue;
        };
        if let Some(&j) = seen.get(&(below, e.key.label())) {
            let other = &entries[j];
            if other.action != e.action && e.layer.hides(below, other.action) {
                errors.push(KeymapError {
                    line: e.line.or(other.line).unwrap_or(0),
                    message: format!(
                        "key '{}' in [{}] would hide {} of [{}] ({})",
                        e.key_text,
                        e.layer.name(),
                        other.action.name(),
                        below.name(),
                        other.place()
                    ),
                });
            }
        }
    }
    if let Some(first) = errors.into_iter().min_by_key(|e| e.line) {
        return Err(first);
    }
    let mut layers: BTreeMap<Layer, Vec<(KeyBinding, NamedAction)>> = BTreeMap::new();
    for e in entries {
        layers.entry(e.layer).or_default().push((e.key, e.action));
    }
    Ok(Keymap { layers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn default_keymap_loads_and_binds_the_basics() {
        let km = Keymap::default();
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Layer::Global, &q), Some(NamedAction::Quit));
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(km.lookup(Layer::Dialog, &esc), Some(NamedAction::Cancel));
        assert_eq!(
            km.hint(Layer::Approvals, NamedAction::Approve).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn unknown_action_is_an_error_with_its_line() {
        let err = Keymap::from_toml("[global]\nquit = \"q\"\nexplode = \"x\"\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("explode"), "{err}");
    }

    #[test]
    fn action_from_another_layer_is_refused() {
        let err = Keymap::from_toml("[fleet]\napprove = \"a\"\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn unknown_key_name_is_an_error_with_its_line() {
        let err = Keymap::from_toml("[global]\n\nquit = [\"q\", \"hyper+q\"]\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("hyper+q"), "{err}");
    }

    #[test]
    fn unknown_layer_is_an_error() {
        let err = Keymap::from_toml("[global]\nquit = \"q\"\n[bogus]\nx = \"y\"\n").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn conflicting_bindings_in_a_layer_are_reported() {
        let err = Keymap::from_toml("[global]\nquit = \"q\"\nhelp = [\"?\", \"q\"]\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("quit (line 2)") && err.message.contains("help (line 3)"),
            "{err}"
        );
    }

    #[test]
    fn a_pane_key_may_not_hide_a_global_one() {
        let err = Keymap::from_toml("[global]\nquit = \"q\"\n[fleet]\nsort = \"q\"\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("would hide quit of [global]"), "{err}");
        // A text field may not take the dialog's keys either.
        let err =
            Keymap::from_toml("[dialog]\ncancel = \"esc\"\n[text_input]\nclear_field = \"esc\"\n")
                .unwrap_err();
        assert_eq!(err.line, 4);
        // The detail layer repeating a global action on the same key is no conflict.
        Keymap::from_toml("[global]\nup = \"k\"\n[detail]\nup = \"k\"\n").unwrap();
    }

    #[test]
    fn same_key_in_different_layers_is_fine() {
        Keymap::from_toml("[fleet]\ndrill = \"d\"\n[evidence]\ndrill = \"d\"\n").unwrap();
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = Keymap::from_toml("[global]\nquit = \n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
