//! Bearer tokens: generation, hashing and the token file.
//!
//! The token file holds one token per line, never the token itself:
//!
//! ```text
//! # fleetdeck tokens: <sha256 of the token, hex> <user> <role>[,<role>...]
//! 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 alice operator,approver
//! ```
//!
//! Blank lines and lines starting with `#` are ignored. Users are 1–64 characters of
//! letters, digits and `.`, `_`, `-`, `@`. Roles are `viewer`, `operator`, `approver`
//! and `admin`. The server compares SHA-256 hashes, so a leaked token file grants
//! nothing; plaintext tokens exist only in the output of `fleetdeck token new`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use fleetdeck_api::Role;
use sha2::{Digest, Sha256};

/// Prefix of every token, so secret scanners and people recognise one.
const TOKEN_PREFIX: &str = "fdk_";
const TOKEN_BYTES: usize = 32;

/// One line of the token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub sha256_hex: String,
    pub user: String,
    pub roles: Vec<Role>,
}

/// A new random token: 256 bits from the operating system's generator.
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    // Without a working OS random source no token can be safe; there is no fallback.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// SHA-256 of `token`, lower-case hex: what the token file stores.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `user` is an acceptable user name.
pub fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Reads the token file. The error is one line naming the file, the line and the problem.
pub fn load_token_file(path: &Path) -> Result<Vec<TokenEntry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("token file {}: cannot read it: {e}", path.display()))?;
    warn_if_shared(path);
    parse_token_file(&text).map_err(|e| format!("token file {}:{e}", path.display()))
}

/// Parses token file text; errors start with the line number (`3: ...`).
pub fn parse_token_file(text: &str) -> Result<Vec<TokenEntry>, String> {
    let mut entries: Vec<TokenEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [hash, user, roles] = fields[..] else {
            return Err(format!(
                "{n}: expected '<sha256-hex> <user> <roles>', found {} fields",
                fields.len()
            ));
        };
        if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "{n}: the first field must be the token's SHA-256 as 64 hex digits (plaintext tokens are not accepted)"
            ));
        }
        if !valid_user(user) {
            return Err(format!(
                "{n}: user '{}' is not 1-64 letters, digits, '.', '_', '-' or '@'",
                fleetdeck_api::text::sanitize_line(user)
            ));
        }
        let roles = parse_roles(roles).map_err(|e| format!("{n}: {e}"))?;
        let sha256_hex = hash.to_ascii_lowercase();
        if entries.iter().any(|e| e.sha256_hex == sha256_hex) {
            return Err(format!("{n}: this token hash appears twice"));
        }
        entries.push(TokenEntry {
            sha256_hex,
            user: user.to_string(),
            roles,
        });
    }
    Ok(entries)
}

/// Parses `operator,approver`.
pub fn parse_roles(s: &str) -> Result<Vec<Role>, String> {
    let mut roles = Vec::new();
    for name in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let role = Role::parse(name).ok_or_else(|| {
            format!(
                "unknown role '{}': use viewer, operator, approver or admin",
                fleetdeck_api::text::sanitize_line(name)
            )
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err("no role given: use viewer, operator, approver or admin".into());
    }
    Ok(roles)
}

/// Generates a token for `user`, appends its hash to `path` (created with mode 0600) and
/// returns the plaintext, which is shown once and stored nowhere. An existing file that
/// does not parse is left untouched.
pub fn append_token(path: &Path, user: &str, roles: &[Role]) -> Result<String, String> {
    if !valid_user(user) {
        return Err(format!(
            "user '{}' is not 1-64 letters, digits, '.', '_', '-' or '@'",
            fleetdeck_api::text::sanitize_line(user)
        ));
    }
    let known = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];
    if roles.is_empty() || roles.iter().any(|r| !known.contains(r)) {
        return Err("give at least one role of viewer, operator, approver or admin".into());
    }
    let existing = if path.exists() {
        std::fs::read_to_string(path)
            .map_err(|e| format!("token file {}: cannot read it: {e}", path.display()))?
    } else {
        String::new()
    };
    parse_token_file(&existing).map_err(|e| format!("token file {}:{e}", path.display()))?;

    let token = generate_token();
    let roles = roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut line = String::new();
    if existing.is_empty() {
        line.push_str("# fleetdeck tokens: <sha256 of the token, hex> <user> <role>[,<role>...]\n");
    } else if !existing.ends_with('\n') {
        line.push('\n');
    }
    line.push_str(&format!("{} {user} {roles}\n", hash_token(&token)));

    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        format!(
            "token file {}: cannot open it for writing: {e}",
            path.display()
        )
    })?;
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("token file {}: cannot write it: {e}", path.display()))?;
    Ok(token)
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "token file is readable by group or others; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert_eq!(hash_token(&a).len(), 64);
        assert_eq!(hash_token(&a), hash_token(&a));
    }

    #[test]
    fn malformed_lines_are_named() {
        let good = format!("# c\n\n{} alice operator,approver\n", "a".repeat(64));
        let entries = parse_token_file(&good).unwrap();
        assert_eq!(entries[0].roles, vec![Role::Operator, Role::Approver]);
        let cases = [
            ("x alice viewer", "1: the first field"),
            (&*format!("{} alice", "b".repeat(64)), "1: expected"),
            (&*format!("{} al\u{1b}ce viewer", "b".repeat(64)), "1: user"),
            (
                &*format!("\n{} bob wizard", "b".repeat(64)),
                "2: unknown role 'wizard'",
            ),
        ];
        for (text, want) in cases {
            let err = parse_token_file(text).unwrap_err();
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
        let dup = format!("{h} a viewer\n{h} b viewer\n", h = "c".repeat(64));
        assert!(parse_token_file(&dup).unwrap_err().starts_with("2: "));
    }

    #[test]
    fn append_creates_a_private_file_holding_only_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let t1 = append_token(&path, "alice", &[Role::Admin]).unwrap();
        let t2 = append_token(&path, "bob", &[Role::Viewer]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&t1) && !text.contains(&t2));
        let entries = load_token_file(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].sha256_hex, hash_token(&t1));
        assert_eq!(entries[1].user, "bob");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn append_refuses_a_malformed_file_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "garbage\n").unwrap();
        let err = append_token(&path, "alice", &[Role::Admin]).unwrap_err();
        assert!(err.contains(":1: "), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\n");
    }
}
