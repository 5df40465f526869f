//! Property tests: no input, however hostile, makes the sanitiser or the decoders panic,
//! and nothing the sanitiser lets through can drive a terminal.

use fleetdeck_api::text::{MARKER, sanitize, sanitize_line};
use fleetdeck_api::{Event, Problem, Snapshot};
use proptest::prelude::*;

/// Characters a terminal would act on, plus bidirectional overrides.
fn is_dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Text biased towards escape sequences, C1 controls and bidi overrides.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{1b}".to_string()),
        Just("\u{1b}[".to_string()),
        Just("\u{1b}]52;c;".to_string()),
        Just("\u{1b}]0;title".to_string()),
        Just("\u{1b}]8;;http://x".to_string()),
        Just("\u{7}".to_string()),
        Just("\u{1b}\\".to_string()),
        Just("\u{9b}".to_string()),
        Just("\u{9d}".to_string()),
        Just("\u{9c}".to_string()),
        Just("\u{202E}".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        "[ -~]{0,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn sanitised_text_is_inert(s in hostile_text()) {
        let line = sanitize_line(&s);
        prop_assert!(!line.chars().any(|c| is_dangerous(c) || c == '\n'), "{line:?}");
        let text = sanitize(&s);
        prop_assert!(!text.chars().any(is_dangerous), "{text:?}");
    }

    #[test]
    fn sanitising_is_idempotent(s in hostile_text()) {
        let once = sanitize_line(&s).into_owned();
        prop_assert_eq!(sanitize_line(&once).into_owned(), once);
    }

    #[test]
    fn safe_text_passes_unchanged(s in "[a-zA-Z0-9 .:_/-]{0,64}") {
        prop_assert_eq!(sanitize_line(&s), s.as_str());
    }

    #[test]
    fn removals_leave_a_marker(prefix in "[a-z]{1,8}", suffix in "[a-z]{1,8}") {
        let s = format!("{prefix}\u{1b}]52;c;aGVsbG8=\u{7}{suffix}");
        let out = sanitize_line(&s);
        prop_assert_eq!(out.into_owned(), format!("{prefix}{MARKER}{suffix}"));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<Event>(&bytes);
        let _ = serde_json::from_slice::<Snapshot>(&bytes);
        let _ = serde_json::from_slice::<Problem>(&bytes);
    }

    #[test]
    fn decoding_mangled_events_never_panics(cut in 0usize..400, kind in "[a-z._]{0,20}") {
        let json = format!(
            r#"{{"seq":7,"at":"2026-11-21T10:00:00Z","actor":"runner","kind":"{kind}","level":"info","subject":{{"campaign_id":"c1"}},"message":"m","correlation_id":null,"change":{{"type":"mystery","x":1}}}}"#
        );
        let whole: Event = serde_json::from_str(&json).expect("unknown change types decode");
        prop_assert_eq!(whole.change, Some(fleetdeck_api::Change::Unknown));
        let cut = cut.min(json.len());
        if json.is_char_boundary(cut) {
            let _ = serde_json::from_str::<Event>(&json[..cut]);
        }
    }
}
