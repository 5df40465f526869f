//! One key chord, as written in a keymap file (`ctrl+r`, `shift+tab`, `G`, `enter`)
//! and as it arrives from the terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A normalised key chord. Letters carry their case instead of a shift modifier, so
/// `G` in a keymap matches what the terminal sends for shift+g.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("space", KeyCode::Char(' ')),
];

impl KeyBinding {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> KeyBinding {
        KeyBinding { code, mods }.normalised()
    }

    /// Shift is folded into characters and into back-tab, the way terminals send them.
    fn normalised(mut self) -> KeyBinding {
        match self.code {
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::SHIFT) => {
                self.mods.remove(KeyModifiers::SHIFT);
                if c.is_ascii_lowercase() {
                    self.code = KeyCode::Char(c.to_ascii_uppercase());
                }
            }
            KeyCode::Tab if self.mods.contains(KeyModifiers::SHIFT) => {
                self.mods.remove(KeyModifiers::SHIFT);
                self.code = KeyCode::BackTab;
            }
            KeyCode::BackTab => self.mods.remove(KeyModifiers::SHIFT),
            _ => {}
        }
        self.mods &= KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT;
        self
    }

    pub fn from_event(ev: &KeyEvent) -> KeyBinding {
        KeyBinding::new(ev.code, ev.modifiers)
    }

    /// Parses `ctrl+alt+x`, `shift+tab`, `f5`, `?`, `G`, `pagedown`.
    pub fn parse(text: &str) -> Result<KeyBinding, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl+") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt+") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift+") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
        }
        let code = parse_code(rest).ok_or_else(|| {
            format!(
                "unknown key '{text}': use a single character, a name (enter, esc, tab, \
                 backtab, backspace, delete, up, down, left, right, home, end, pageup, \
                 pagedown, space, f1-f12) with optional ctrl+, alt+, shift+"
            )
        })?;
        Ok(KeyBinding::new(code, mods))
    }

    /// Short form for hints and help: `^R`, `⇧Tab`, `Enter`, `G`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("ctrl+");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("alt+");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("shift+");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(c) => out.push(c),
            KeyCode::Enter => out.push_str("Enter"),
            KeyCode::Esc => out.push_str("Esc"),
            KeyCode::Tab => out.push_str("Tab"),
            KeyCode::BackTab => out.push_str("S-Tab"),
            KeyCode::Backspace => out.push_str("Bksp"),
            KeyCode::Delete => out.push_str("Del"),
            KeyCode::Insert => out.push_str("Ins"),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::Home => out.push_str("Home"),
            KeyCode::End => out.push_str("End"),
            KeyCode::PageUp => out.push_str("PgUp"),
            KeyCode::PageDown => out.push_str("PgDn"),
            KeyCode::F(n) => out.push_str(&format!("F{n}")),
            other => out.push_str(&format!("{other:?}")),
        }
        out
    }
}

fn parse_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return (!c.is_control()).then_some(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    if let Some(&(_, code)) = NAMED.iter().find(|(n, _)| *n == lower) {
        return Some(code);
    }
    let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
    (1..=12).contains(&n).then_some(KeyCode::F(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let k = KeyBinding::parse("shift+g").unwrap();
        assert_eq!(k, KeyBinding::parse("G").unwrap());
        assert_eq!(
            KeyBinding::parse("shift+tab").unwrap(),
            KeyBinding::from_event(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT))
        );
        assert_eq!(
            KeyBinding::parse("ctrl+c").unwrap(),
            KeyBinding::from_event(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
        );
        assert_eq!(KeyBinding::parse("F5").unwrap().code, KeyCode::F(5));
        assert!(KeyBinding::parse("hyper+x").is_err());
        assert!(KeyBinding::parse("f13").is_err());
        assert_eq!(KeyBinding::parse("ctrl+r").unwrap().label(), "ctrl+r");
    }
}
