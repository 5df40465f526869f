//! Making untrusted text inert.
//!
//! Names, reasons, comments, log lines and problem details come from the server or from
//! the fleet. Before any of it reaches a terminal, control characters and escape
//! sequences (OSC 52 clipboard writes, OSC 0/2 titles, OSC 8 links, CSI cursor moves,
//! 8-bit C1 controls) and bidirectional overrides are removed, and each removal leaves
//! a visible [`MARKER`] so the reader knows the text was altered.

use std::borrow::Cow;

/// Stands where something was removed.
pub const MARKER: char = '\u{FFFD}';

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

fn needs_work(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && c == '\n')) || is_bidi_control(c)
}

/// Sanitises one line of text: newlines become `⏎`, tabs a space.
pub fn sanitize_line(s: &str) -> Cow<'_, str> {
    sanitize_impl(s, false)
}

/// Sanitises text that may span lines: `\n` is kept, everything else as [`sanitize_line`].
pub fn sanitize(s: &str) -> Cow<'_, str> {
    sanitize_impl(s, true)
}

/// True when `s` would be changed by [`sanitize`].
pub fn is_unsafe(s: &str) -> bool {
    s.chars().any(|c| needs_work(c, true))
}

fn sanitize_impl(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_work(c, keep_newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push('⏎'),
            '\r' => {}
            '\t' => out.push(' '),
            '\u{1b}' => {
                skip_escape(&mut chars);
                out.push(MARKER);
            }
            // 8-bit CSI, OSC, DCS, SOS, PM, APC: introducers of sequences.
            '\u{9b}' => {
                skip_csi(&mut chars);
                out.push(MARKER);
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                out.push(MARKER);
            }
            c if needs_work(c, keep_newlines) => out.push(MARKER),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: skips the rest of the sequence.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        // Intermediate bytes then one final byte (e.g. ESC ( B).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .peek()
                .is_some_and(|c| ('\u{20}'..='\u{2f}').contains(c))
            {
                chars.next();
            }
            chars.next();
        }
        Some(c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// Skips CSI parameters and intermediates up to and including the final byte.
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        chars.next();
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a CSI byte: the sequence is malformed; stop here.
            return;
        }
    }
}

/// Skips an OSC/DCS-style string up to BEL, ESC \ or 8-bit ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(sanitize_line("pg-eu-01 ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_are_removed_and_marked() {
        let cases = [
            ("a\u{1b}]52;c;aGk=\u{7}b", "a\u{FFFD}b"),
            ("a\u{1b}]0;evil title\u{1b}\\b", "a\u{FFFD}b"),
            (
                "a\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{7}b",
                "a\u{FFFD}link\u{FFFD}b",
            ),
            ("\u{1b}[2J\u{1b}[H x", "\u{FFFD}\u{FFFD} x"),
            ("a\u{9b}31mb", "a\u{FFFD}b"),
            ("a\u{9d}0;t\u{9c}b", "a\u{FFFD}b"),
            ("a\u{202E}cba", "a\u{FFFD}cba"),
            ("bell\u{7}", "bell\u{FFFD}"),
            ("tab\there", "tab here"),
            ("two\nlines", "two⏎lines"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_line(input), want, "input {input:?}");
        }
        assert_eq!(sanitize("two\nlines\r"), "two\nlines");
    }

    #[test]
    fn unterminated_sequences_swallow_only_themselves() {
        assert_eq!(sanitize_line("x\u{1b}]52;c;AAAA"), "x\u{FFFD}");
        assert_eq!(sanitize_line("x\u{1b}"), "x\u{FFFD}");
    }
}
