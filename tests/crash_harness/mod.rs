//! The crash harness of `rel_server_crash.rs`: the declared fleet and tokens it serves
//! ([`config`], [`write_tokens`]), the server process it kills ([`server`]), the
//! operators acting through the kills ([`client`]) and what is checked after each kill
//! and restart ([`checks`]).

pub mod checks;
pub mod client;
pub mod server;

use std::path::Path;

use fleetdeck_control_plane::auth::hash_token;

/// Databases per campaign: two dev (ring 0), one staging (ring 1), one tier-2 prod
/// primary (ring 2, so every campaign also waits for a promotion approval). Each group
/// is patched by one campaign only, so "patched twice" is a plain count per database.
pub const GROUP: [(&str, &str, u8, u8); 4] = [
    ("dev-a", "dev", 3, 0),
    ("dev-b", "dev", 3, 0),
    ("stg", "staging", 2, 1),
    ("prod", "prod", 2, 2),
];
/// Simulated seconds per real second: a patch takes a fraction of a second and a
/// campaign a second or two, so kills land in every phase.
pub const TIME_SCALE: f64 = 200.0;

/// A small deterministic generator (xorshift), so a failing run can be repeated by seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub fn token(user: &str) -> String {
    format!("crash-harness-token-{user}")
}

/// The fleet and executor configuration, with the call log in `dir`.
pub fn config(groups: usize, call_log: &Path) -> String {
    let mut text = format!(
        "[executor]\nkind = \"simulated\"\nseed = 11\ntime_scale = {TIME_SCALE}\ncall_log = \"{}\"\n\n\
         [drills]\nmax_concurrent = 4\n",
        call_log.display()
    );
    for g in 0..groups {
        for (suffix, env, tier, ring) in GROUP {
            text.push_str(&format!(
                "\n[[database]]\nid = \"pg-{g:03}-{suffix}\"\nengine = \"postgres\"\n\
                 engine_version = \"16.3\"\nenvironment = \"{env}\"\ntier = {tier}\n\
                 region = \"eu-west-1\"\nowner_team = \"team-{g}\"\nrole = \"primary\"\n\
                 ring = {ring}\nhost = \"pg-{g:03}-{suffix}.db.internal\"\n\
                 backup = {{ schedule = \"daily 02:00\", retention_days = 14 }}\n"
            ));
        }
    }
    text
}

pub fn group_ids(g: usize) -> Vec<String> {
    GROUP
        .iter()
        .map(|(suffix, ..)| format!("pg-{g:03}-{suffix}"))
        .collect()
}

/// The tokens file `fleetdeck serve --tokens` reads: one user per role the client uses.
pub fn write_tokens(dir: &Path) {
    let mut text = String::from("# crash harness tokens\n");
    for (user, role) in [("olga", "operator"), ("abe", "approver"), ("ada", "admin")] {
        text.push_str(&format!("{} {user} {role}\n", hash_token(&token(user))));
    }
    let path = dir.join("tokens");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}
