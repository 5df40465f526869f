//! Throwaway PostgreSQL clusters for tests: each in its own temporary directory, on a
//! free loopback port, never a system cluster.
//!
//! The server refuses to run as root and CI runs as root, so when this process is root
//! every server-side program (`initdb`, `pg_ctl`, `pg_basebackup`, `postgres`) runs as
//! the unprivileged `postgres` user the distribution's package creates, and the cluster's
//! directory is given to that user.
//!
//! A cluster is stopped and its directory removed when it is dropped. A test process
//! that dies without unwinding (abort, SIGKILL, a shared cluster in a `static`, which
//! is never dropped) would leave a server running, so every cluster also has a watchdog:
//! a small shell process that waits for this process to end, then stops the server with
//! an immediate shutdown and removes the directory.

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the server binaries are: `FLEETDECK_PG_BIN`, else PostgreSQL 15 as Debian
/// installs it.
pub fn bin_dir() -> PathBuf {
    std::env::var_os("FLEETDECK_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// True when the server binaries are missing and this is not CI: the test prints why
/// and returns. Under CI (`CI` set) a missing server is a failure, never a skip, since
/// `.ci/run` installs it.
pub fn skipped() -> bool {
    if bin_dir().join("initdb").is_file() {
        return false;
    }
    let why = format!(
        "PostgreSQL server binaries not found in {} (Debian: apt-get install postgresql; \
         or set FLEETDECK_PG_BIN)",
        bin_dir().display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    true
}

/// The user the server runs as when this process is root: (uid, gid).
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    static USER: OnceLock<(u32, u32)> = OnceLock::new();
    Some(*USER.get_or_init(|| {
        let name = c"postgres";
        // SAFETY: a NUL-terminated name; the result is read at once, before any other
        // getpw* call in this process could reuse the buffer (it runs once).
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        assert!(
            !pw.is_null(),
            "running as root and there is no 'postgres' user to run the server as \
             (Debian's postgresql package creates it)"
        );
        // SAFETY: checked non-null above.
        unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
    }))
}

/// A command for a server-side program, run as the server's user when we are root.
pub fn server_command(program: impl AsRef<Path>) -> Command {
    let program = program.as_ref();
    let path = if program.is_absolute() {
        program.to_path_buf()
    } else {
        bin_dir().join(program)
    };
    let mut cmd = Command::new(path);
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
        // The server's user cannot read root's home or the test's working directory.
        cmd.current_dir("/").env("HOME", "/tmp");
    }
    cmd
}

/// Gives `path` (and everything below it) to the server's user when we are root.
pub fn give_to_server_user(path: &Path) {
    let Some((uid, gid)) = server_user() else {
        return;
    };
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
        if p.is_dir() && !p.is_symlink() {
            for entry in std::fs::read_dir(&p).expect("read_dir") {
                stack.push(entry.expect("dir entry").path());
            }
        }
    }
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// How a new cluster is made.
#[derive(Clone, Debug)]
pub struct Options {
    /// `initdb --data-checksums`.
    pub data_checksums: bool,
    /// The `postgres` superuser's password. With one, TCP connections need it
    /// (scram-sha-256); the harness itself always connects through the Unix socket.
    pub password: Option<String>,
    /// Lines appended to `postgresql.conf`.
    pub settings: Vec<String>,
    /// A pgBackRest repository for this stanza inside the cluster's directory, with
    /// WAL archiving into it on (see [`Cluster::pgbackrest`]).
    pub pgbackrest_stanza: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_checksums: true,
            password: None,
            settings: Vec::new(),
            pgbackrest_stanza: None,
        }
    }
}

/// One PostgreSQL server in its own temporary directory.
pub struct Cluster {
    root: tempfile::TempDir,
    port: u16,
    watchdog: Option<std::process::Child>,
    stanza: Option<String>,
}

impl Cluster {
    /// A new cluster with the default options, started.
    pub fn start_new() -> Cluster {
        Cluster::start_with(&Options::default())
    }

    /// A new cluster, started.
    pub fn start_with(opts: &Options) -> Cluster {
        let mut cluster = Cluster::create();
        let mut initdb = server_command("initdb");
        initdb.arg("-D").arg(cluster.data_dir()).args([
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--no-sync",
            "-A",
            "trust",
        ]);
        if opts.data_checksums {
            initdb.arg("--data-checksums");
        }
        if let Some(password) = &opts.password {
            let pwfile = cluster.root.path().join("pwfile");
            std::fs::write(&pwfile, password).expect("write pwfile");
            give_to_server_user(&pwfile);
            initdb
                .arg(format!("--pwfile={}", pwfile.display()))
                .args(["--auth-host=scram-sha-256", "--auth-local=trust"]);
        }
        run(&mut initdb, "initdb");
        let mut settings = opts.settings.clone();
        if let Some(stanza) = &opts.pgbackrest_stanza {
            cluster.stanza = Some(stanza.clone());
            settings.extend(cluster.write_pgbackrest_config(stanza));
        }
        cluster.configure(&settings);
        cluster.start();
        if cluster.stanza.is_some() {
            cluster.pgbackrest(&["stanza-create"]);
        }
        cluster
    }

    /// The repository's config, and the settings that archive WAL into it.
    fn write_pgbackrest_config(&self, stanza: &str) -> Vec<String> {
        let dir = self.root.path().join("pgbackrest");
        for sub in ["", "repo", "lock", "log", "spool"] {
            std::fs::create_dir_all(dir.join(sub)).expect("pgbackrest directory");
        }
        let conf = format!(
            "[global]\nrepo1-path={d}/repo\nlock-path={d}/lock\nlog-path={d}/log\n\
             spool-path={d}/spool\nlog-level-file=off\nlog-level-console=warn\n\
             compress-type=none\nstart-fast=y\nrepo1-retention-full=9\n\n\
             [{stanza}]\npg1-path={data}\npg1-port={port}\npg1-socket-path={sock}\n",
            d = dir.display(),
            data = self.data_dir().display(),
            port = self.port,
            sock = self.socket_dir().display(),
        );
        std::fs::write(self.pgbackrest_config(), conf).expect("write pgbackrest.conf");
        give_to_server_user(&dir);
        vec![
            "archive_mode = on".to_string(),
            format!(
                "archive_command = 'pgbackrest --config={} --stanza={stanza} archive-push %p'",
                self.pgbackrest_config().display()
            ),
        ]
    }

    /// The pgBackRest config of a cluster made with [`Options::pgbackrest_stanza`].
    pub fn pgbackrest_config(&self) -> PathBuf {
        self.root.path().join("pgbackrest").join("pgbackrest.conf")
    }

    /// The repository's directory (backups under `backup/STANZA/LABEL`).
    pub fn pgbackrest_repo(&self) -> PathBuf {
        self.root.path().join("pgbackrest").join("repo")
    }

    /// Runs `pgbackrest COMMAND...` on this cluster's stanza, as the server's user;
    /// its standard output.
    pub fn pgbackrest(&self, command: &[&str]) -> String {
        let stanza = self
            .stanza
            .as_deref()
            .expect("a cluster with a pgBackRest stanza");
        let out = run(
            server_command("/usr/bin/pgbackrest")
                .arg(format!("--config={}", self.pgbackrest_config().display()))
                .arg(format!("--stanza={stanza}"))
                .args(command),
            "pgbackrest",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A full backup into the repository; its label.
    pub fn pgbackrest_full_backup(&self) -> String {
        self.pgbackrest(&["--type=full", "backup"]);
        let info = self.pgbackrest(&["--output=json", "info"]);
        // The newest set is the last `"label":"..."` of the answer.
        info.rsplit("\"label\":\"")
            .next()
            .and_then(|rest| rest.split('"').next())
            .expect("a backup label in pgbackrest info")
            .to_string()
    }

    /// A streaming replica of `self`, from `pg_basebackup -R`, started.
    pub fn replica(&self) -> Cluster {
        self.replica_with(&[])
    }

    /// [`Cluster::replica`] with lines appended to its `postgresql.conf` (e.g.
    /// `cluster_name = 'pg-b'`, the name its WAL receiver gives the primary).
    pub fn replica_with(&self, settings: &[String]) -> Cluster {
        let replica = Cluster::create();
        run(
            server_command("pg_basebackup")
                .arg("-h")
                .arg(self.socket_dir())
                .arg("-p")
                .arg(self.port.to_string())
                .args(["-U", "postgres", "-X", "stream", "-R", "--no-sync", "-D"])
                .arg(replica.data_dir()),
            "pg_basebackup for a replica",
        );
        replica.configure(settings);
        replica.start();
        replica
    }

    fn create() -> Cluster {
        let root = tempfile::Builder::new()
            .prefix("fleetdeck-pg-")
            .tempdir()
            .expect("temporary directory");
        std::fs::create_dir(root.path().join("sock")).expect("socket directory");
        // The server's user must reach the directory; nobody else needs to.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        give_to_server_user(root.path());
        let mut cluster = Cluster {
            root,
            port: free_port(),
            watchdog: None,
            stanza: None,
        };
        cluster.watchdog = Some(cluster.spawn_watchdog());
        cluster
    }

    /// Port, sockets and loopback-only listening, written into the configuration so
    /// that a restart by anyone (`pg_ctl restart`, a patch script) keeps them. A
    /// replica's copied settings are overridden: the last line of a setting wins.
    fn configure(&self, extra: &[String]) {
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir().join("postgresql.conf"))
            .expect("open postgresql.conf");
        let mut lines = vec![
            format!("port = {}", self.port),
            "listen_addresses = '127.0.0.1'".to_string(),
            format!(
                "unix_socket_directories = '{}'",
                self.socket_dir().display()
            ),
            "fsync = off".to_string(),
            "logging_collector = off".to_string(),
            "max_connections = 40".to_string(),
            "shared_buffers = 16MB".to_string(),
        ];
        lines.extend(extra.iter().cloned());
        writeln!(conf, "\n# fleetdeck test harness\n{}", lines.join("\n")).expect("write conf");
    }

    /// Stops the server, then removes the directory, once this process has ended.
    fn spawn_watchdog(&self) -> std::process::Child {
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; \
             pid=$(head -n 1 '{data}/postmaster.pid' 2>/dev/null); \
             if [ -n \"$pid\" ]; then kill -QUIT \"$pid\" 2>/dev/null; \
               for _ in $(seq 50); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done; fi; \
             rm -rf '{root}'",
            parent = std::process::id(),
            data = self.data_dir().display(),
            root = self.root.path().display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Not in the test's process group: a Ctrl-C on `cargo test` must leave it
            // to clean up.
            .process_group(0)
            .spawn()
            .expect("spawn the cluster watchdog")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.path().join("sock")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB` (TCP, as a client outside the harness
    /// connects).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let out = server_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl start");
        if !out.status.success() {
            panic!(
                "pg_ctl start failed ({}): {}\nserver log:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.log_file()).unwrap_or_default()
            );
        }
    }

    /// A clean, fast shutdown (`pg_ctl stop -m fast`), waiting for it.
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    /// An immediate shutdown, as a crash would leave it (recovery runs on next start).
    pub fn kill(&self) {
        self.pg_ctl_stop("immediate");
    }

    fn pg_ctl_stop(&self, mode: &str) {
        if !self.is_running() {
            return;
        }
        run(
            server_command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-w", "-t", "60", "-m", mode, "stop"]),
            "pg_ctl stop",
        );
    }

    /// True while a postmaster runs on the data directory.
    pub fn is_running(&self) -> bool {
        let Ok(pidfile) = std::fs::read_to_string(self.data_dir().join("postmaster.pid")) else {
            return false;
        };
        let Some(pid) = pidfile
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok())
        else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    /// Runs SQL through `psql` on the Unix socket as `postgres`; the rows, unaligned,
    /// one per line, fields separated by `|`. Errors are the server's message.
    pub fn try_sql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(bin_dir().join("psql"))
            .arg("-h")
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", db, "-X", "-A", "-t", "-q"])
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// [`Cluster::try_sql`], panicking on an error.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        self.try_sql(db, sql)
            .unwrap_or_else(|e| panic!("SQL on port {} failed: {e}\n{sql}", self.port))
    }

    /// Waits until `sql` returns `want`, up to `timeout`.
    pub fn wait_for(&self, db: &str, sql: &str, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.try_sql(db, sql);
            if got.as_deref() == Ok(want) {
                return;
            }
            if Instant::now() > deadline {
                panic!("waited {timeout:?} for `{sql}` to return {want:?}; last: {got:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = server_command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-w", "-t", "30", "-m", "immediate", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // The TempDir removes the directory as it drops (root may remove the server
        // user's files; a non-root owner owns them).
    }
}
