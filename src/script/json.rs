//! JSON as `--output json` writes it: standard JSON, but every character a terminal or
//! a text renderer would act on is written as a `\uXXXX` escape, not only those JSON
//! requires (below U+0020). A program that prints a field it read gets the same value
//! back (escapes decode to the very same characters); someone who `cat`s the output, or
//! a consumer that copies the raw line, cannot be driven by it: no 8-bit C1 control (an
//! 8-bit CSI or OSC), no bidirectional override that reorders what the line shows, no
//! Unicode line or paragraph separator that ends a line in some readers.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// Whether `c` is escaped even though JSON allows it raw.
fn escaped(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'          // C1 controls
        | '\u{200e}' | '\u{200f}'    // left-to-right and right-to-left marks
        | '\u{061c}'                 // Arabic letter mark
        | '\u{202a}'..='\u{202e}'    // embeddings and overrides
        | '\u{2066}'..='\u{2069}'    // isolates
        | '\u{2028}' | '\u{2029}'    // line and paragraph separators
    )
}

/// serde_json's compact output (the trait's defaults), with [`escaped`] characters written as `\uXXXX`.
struct Inert;

impl Formatter for Inert {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if escaped(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // Every escaped character is in the Basic Multilingual Plane.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` as one line of JSON, inert to print.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    value.serialize(&mut Serializer::with_formatter(&mut out, Inert))?;
    // The formatter writes whole UTF-8 characters or ASCII escapes only.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn c1_bidi_and_separators_are_escaped_and_round_trip() {
        let hostile =
            "a\u{85}b\u{9b}2J\u{202e}evil\u{2066}x\u{2069}\u{200f}\u{61c}\u{2028}\u{2029}é—✓\u{1b}";
        let value = json!({ "name": hostile, "list": [hostile], "plain": "pg-prod-01" });
        let text = to_string(&value).unwrap();
        for c in hostile.chars().filter(|c| escaped(*c) || c.is_control()) {
            assert!(!text.contains(c), "{c:?} raw in {text}");
        }
        assert!(
            text.contains("\\u0085") && text.contains("\\u202e"),
            "{text}"
        );
        // Ordinary non-ASCII text stays as it is.
        assert!(text.contains("é—✓"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Nothing else changes: the same bytes as serde_json where there is nothing to
        // escape.
        let calm = json!({ "a": [1, 2.5, null, true], "b": "x\"y\\z\n" });
        assert_eq!(
            to_string(&calm).unwrap(),
            serde_json::to_string(&calm).unwrap()
        );
    }
}
