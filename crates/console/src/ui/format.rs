//! Words and numbers as the user reads them: ages, durations, clipped text.

use chrono::{DateTime, Duration, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `45s`, `3m12s`, `2h05m`, `9d4h`; negative durations read as their size.
pub fn duration(d: Duration) -> String {
    let s = d.num_seconds().unsigned_abs();
    let (days, hours, mins, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) if secs == 0 => format!("{m}m"),
        (0, 0, m) => format!("{m}m{secs:02}s"),
        (0, h, m) => format!("{h}h{m:02}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// Seconds as a duration (`restore 4m12s`).
pub fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        duration(Duration::seconds(s.round() as i64))
    }
}

/// `3m ago`, or `now` for times not in the past.
pub fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let d = now - t;
    if d <= Duration::zero() {
        "now".into()
    } else {
        format!("{} ago", duration(d))
    }
}

/// `44d ago`, `5h ago`, `12m ago`: one unit, for narrow columns.
pub fn ago_short(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let d = now - t;
    if d >= Duration::days(2) {
        format!("{}d ago", d.num_days())
    } else if d >= Duration::hours(2) {
        format!("{}h ago", d.num_hours())
    } else if d >= Duration::minutes(2) {
        format!("{}m ago", d.num_minutes())
    } else {
        ago(now, t)
    }
}

pub fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%SZ").to_string()
}

/// `t` formatted in local time with `local`, else in UTC with `utc`.
fn in_zone(t: DateTime<Utc>, local: bool, local_fmt: &str, utc_fmt: &str) -> String {
    if local {
        t.with_timezone(&chrono::Local)
            .format(local_fmt)
            .to_string()
    } else {
        t.format(utc_fmt).to_string()
    }
}

/// The time of day in UTC (`03:00:00Z`) or local time (`04:00:00+01`), as toggled.
pub fn clock_in(t: DateTime<Utc>, local: bool) -> String {
    in_zone(t, local, "%H:%M:%S%:z", "%H:%M:%SZ")
}

/// A log line's time of day (`03:00:00`), UTC or local as toggled; the zone shows once,
/// in the header, not on every line.
pub fn log_time(t: DateTime<Utc>, local: bool) -> String {
    in_zone(t, local, "%H:%M:%S", "%H:%M:%S")
}

/// A full timestamp in UTC or local time, with its zone said.
pub fn stamp_in(t: DateTime<Utc>, local: bool) -> String {
    in_zone(
        t,
        local,
        "%Y-%m-%d %H:%M:%S%.3f %:z",
        "%Y-%m-%d %H:%M:%S%.3f UTC",
    )
}

pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `1 campaign`, `3 campaigns`: a count with its noun, plural when it is not one.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Fits `s` into `max` columns, ending in `…` when something was cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Where to cut `s` to fit `max` columns in the middle: how many characters to keep at
/// the start and at the end, with `…` between; `None` when it fits. The end kept is
/// its last part after a `-`, `_`, `/`, `:` or space when that takes at most half the
/// room (`pg-prod-e…-017`), else the last half.
pub fn middle_cut(s: &str, max: usize) -> Option<(usize, usize)> {
    if width(s) <= max {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    if max <= 1 {
        return Some((0, 0));
    }
    let room = max - 1;
    let cw = |c: &char| c.width().unwrap_or(0);
    let last_part = chars
        .iter()
        .rposition(|c| matches!(c, '-' | '_' | '/' | ':' | ' '))
        .map(|p| chars.len() - p);
    // The tail in characters, no wider than half the room.
    let fit_tail = |n: usize| chars[chars.len() - n..].iter().map(cw).sum::<usize>() <= room / 2;
    let tail = match last_part {
        Some(n) if n < chars.len() && fit_tail(n) => n,
        _ => (0..=chars.len()).rev().find(|n| fit_tail(*n)).unwrap_or(0),
    };
    let tail_w: usize = chars[chars.len() - tail..].iter().map(cw).sum();
    let mut head = 0;
    let mut used = 0;
    for c in &chars {
        if used + cw(c) > room - tail_w {
            break;
        }
        used += cw(c);
        head += 1;
    }
    Some((head, tail))
}

/// Greedy word wrap to `max` columns; a word longer than a line is split.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w = width(word);
        if used > 0 && used + 1 + w <= max {
            line.push(' ');
            line.push_str(word);
            used += 1 + w;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > max {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += cw;
        }
    }
    lines.push(line);
    lines
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`.
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::seconds(45)), "45s");
        assert_eq!(duration(Duration::seconds(192)), "3m12s");
        assert_eq!(duration(Duration::seconds(180)), "3m");
        assert_eq!(duration(Duration::seconds(7500)), "2h05m");
        assert_eq!(duration(Duration::days(9) + Duration::hours(4)), "9d4h");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(12), "12th");
    }

    #[test]
    fn ellipsis_marks_a_cut() {
        assert_eq!(ellipsize("pg-eu-west-01", 8), "pg-eu-w…");
        assert_eq!(ellipsize("short", 8), "short");
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefg", 3), ["abc", "def", "g"]);
    }

    /// `s` cut as [`middle_cut`] says, with `…` in the cut.
    fn ellipsize_middle(s: &str, max: usize) -> String {
        match middle_cut(s, max) {
            None => s.to_string(),
            Some((head, tail)) => {
                let chars: Vec<char> = s.chars().collect();
                let mut out: String = chars[..head].iter().collect();
                out.push('…');
                out.extend(&chars[chars.len() - tail..]);
                out
            }
        }
    }

    #[test]
    fn a_middle_cut_keeps_what_tells_values_apart() {
        assert_eq!(
            ellipsize_middle("pg-prod-eu-west-017", 14),
            "pg-prod-e…-017"
        );
        assert_eq!(
            ellipsize_middle("pg-prod-eu-west-018", 14),
            "pg-prod-e…-018"
        );
        assert_eq!(ellipsize_middle("short", 8), "short");
        assert_eq!(ellipsize_middle("postgres 15.10", 11), "postg…15.10");
        assert_eq!(ellipsize_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(ellipsize_middle("abc", 1), "…");
    }
}
