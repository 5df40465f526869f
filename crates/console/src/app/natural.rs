//! Natural order for ids and versions: runs of digits compare as numbers, so
//! `16.9` sorts before `16.10` and `pg-9` before `pg-10`, as an operator reads them.

use std::cmp::Ordering;

/// Compares `a` and `b` with digit runs taken as numbers. Runs equal in value but not
/// in spelling (`007` and `7`) fall back to byte order at the end, so the order stays
/// total: two different strings never compare equal.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (m, rest_x) = split_digits(x);
                let (n, rest_y) = split_digits(y);
                let by_value = trim_zeros(m)
                    .len()
                    .cmp(&trim_zeros(n).len())
                    .then_with(|| trim_zeros(m).cmp(trim_zeros(n)));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&c| c != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering::*;

    #[test]
    fn digit_runs_compare_as_numbers() {
        assert_eq!(natural_cmp("16.9", "16.10"), Less);
        assert_eq!(natural_cmp("pg-10", "pg-9"), Greater);
        assert_eq!(natural_cmp("cmp-100", "cmp-99"), Greater);
        assert_eq!(natural_cmp("a", "a1"), Less);
        assert_eq!(natural_cmp("pg-a", "pg-1"), Greater);
        assert_eq!(natural_cmp("same", "same"), Equal);
    }

    #[test]
    fn the_order_is_total_and_consistent() {
        assert_eq!(natural_cmp("v007", "v7"), "v007".cmp("v7"));
        assert_ne!(natural_cmp("v007", "v7"), Equal);
        let mut ids = vec!["db-2", "db-10", "db-1", "db-01", "db-02b", "db-2a", "db"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            ["db", "db-01", "db-1", "db-2", "db-2a", "db-02b", "db-10"]
        );
        for a in &ids {
            for b in &ids {
                assert_eq!(natural_cmp(a, b), natural_cmp(b, a).reverse(), "{a} {b}");
            }
        }
    }
}
