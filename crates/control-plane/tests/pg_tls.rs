//! `sslmode` and `ca_file` on a real server that accepts TLS connections only: with the
//! CA that signed its certificate and `verify-full` the executor gets in; without TLS
//! it is refused; trusting only the system's roots it refuses the server.

mod common;
mod pg_support;

use std::path::Path;
use std::process::Command;

use fleetdeck_api::HealthStatus;
use fleetdeck_control_plane::config;
use fleetdeck_control_plane::executor;
use fleetdeck_pg_harness::{Cluster, Options, give_to_server_user, skipped};
use pg_support::Declared;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate it signed for 127.0.0.1 and localhost.
fn certificates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=fleetdeck-test-ca",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        d.join("ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    give_to_server_user(&d.join("server.key"));
    dir
}

#[tokio::test]
async fn tls_with_the_servers_ca_gets_in_and_nothing_less_does() {
    if skipped() {
        return;
    }
    let certs = certificates();
    let c = certs.path();
    let cluster = Cluster::start_with(&Options {
        settings: vec![
            "ssl = on".into(),
            format!("ssl_cert_file = '{}'", c.join("server.crt").display()),
            format!("ssl_key_file = '{}'", c.join("server.key").display()),
        ],
        ..Options::default()
    });
    // TCP connections must use TLS from here on.
    std::fs::write(
        cluster.data_dir().join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    give_to_server_user(&cluster.data_dir().join("pg_hba.conf"));
    cluster.sql("postgres", "SELECT pg_reload_conf()");

    let health_with = |connection: String| {
        let cluster = &cluster;
        async move {
            let db = Declared {
                id: "pg-tls",
                cluster,
                ring: 0,
                primary: None,
                connection: &connection,
            };
            let text = pg_support::config(&[db], "", "", "");
            let parsed = config::parse(&text, Path::new("test.toml")).unwrap();
            let ex = executor::build(&parsed.executor);
            ex.health(&parsed.databases[0]).await.unwrap()
        }
    };

    let verified = health_with(format!(
        "sslmode = \"verify-full\"\nca_file = \"{}\"",
        c.join("ca.crt").display()
    ))
    .await;
    assert_eq!(verified.status, HealthStatus::Healthy, "{verified:?}");

    let plain = health_with(String::new()).await; // the fleet's template: sslmode = "disable"
    assert_eq!(plain.status, HealthStatus::Unknown, "{plain:?}");
    assert!(
        plain.findings[0].contains("no pg_hba.conf entry")
            && plain.findings[0].contains("no encryption"),
        "{plain:?}"
    );

    let untrusted = health_with("sslmode = \"verify-full\"".into()).await;
    assert_ne!(untrusted.status, HealthStatus::Healthy, "{untrusted:?}");
    assert!(
        untrusted.findings[0].contains("cannot connect to postgres@127.0.0.1"),
        "{untrusted:?}"
    );
}
