//! How the control plane is reached: HTTPS with a certificate and key from PEM files
//! (rustls, with the same aws-lc-rs provider the console's HTTP client uses), or plain
//! HTTP, which is only allowed on a loopback address unless the operator says otherwise.
//! Bearer tokens cross the wire in every request; plain HTTP beyond this machine would
//! hand them to anyone on the path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

/// A client that connects but never finishes its handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (out of file descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How the server listens. The default is plain HTTP, loopback only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    pub tls: Option<TlsFiles>,
    /// `--insecure-listen`: plain HTTP on a non-loopback address, knowingly.
    pub insecure_listen: bool,
}

impl Transport {
    /// Refuses plain HTTP beyond loopback unless [`Transport::insecure_listen`] says so.
    pub fn check_listen(&self, listen: SocketAddr) -> Result<(), String> {
        if self.tls.is_some() || listen.ip().is_loopback() {
            return Ok(());
        }
        if self.insecure_listen {
            tracing::warn!(
                %listen,
                "serving plain HTTP beyond loopback (--insecure-listen): bearer tokens cross the network unencrypted"
            );
            return Ok(());
        }
        Err(format!(
            "refusing to listen on {listen} without TLS: bearer tokens would cross the network in clear text; \
             give --tls-cert and --tls-key, or --insecure-listen if a proxy in front of it terminates TLS"
        ))
    }

    /// The acceptor for [`Transport::tls`], if set; the error names the file and the problem.
    pub fn acceptor(&self) -> Result<Option<TlsAcceptor>, String> {
        self.tls.as_ref().map(load_acceptor).transpose()
    }
}

/// Reads the certificate chain and key and builds a TLS 1.2/1.3 acceptor.
pub fn load_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        format!(
            "TLS key {}: cannot read a PEM private key: {e}",
            files.key.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "TLS certificate {} and key {} do not make a usable pair: {e}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!(
            "TLS certificate {}: cannot read PEM certificates: {e}",
            path.display()
        )
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"the file holds no certificate"));
    }
    Ok(certs)
}

/// Serves `app` over TLS until `shutdown`; then stops accepting, asks every open
/// connection to finish its current request, and returns when all have closed.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shutdown.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        connections.spawn(connection(
            tcp,
            peer,
            acceptor.clone(),
            app.clone(),
            shutdown.clone(),
        ));
        // Forget finished connections so the set does not grow with the server's age.
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    shutdown: CancellationToken,
) {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    // The peer, as `axum::serve` gives it over plain HTTP (the audit of refusals says
    // where a request came from).
    let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
    let service = TowerToHyperService::new(app);
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_beyond_loopback_needs_the_flag() {
        let plain = Transport::default();
        assert!(
            plain
                .check_listen("127.0.0.1:7300".parse().unwrap())
                .is_ok()
        );
        assert!(plain.check_listen("[::1]:7300".parse().unwrap()).is_ok());
        let err = plain
            .check_listen("0.0.0.0:7300".parse().unwrap())
            .unwrap_err();
        assert!(
            err.contains("--insecure-listen") && err.contains("0.0.0.0:7300"),
            "{err}"
        );
        let insecure = Transport {
            insecure_listen: true,
            ..Transport::default()
        };
        assert!(
            insecure
                .check_listen("10.1.2.3:7300".parse().unwrap())
                .is_ok()
        );
        let tls = Transport {
            tls: Some(TlsFiles {
                cert: "c".into(),
                key: "k".into(),
            }),
            insecure_listen: false,
        };
        assert!(tls.check_listen("0.0.0.0:7300".parse().unwrap()).is_ok());
    }

    #[test]
    fn unreadable_or_mismatched_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        let err = load_acceptor(&files).err().expect("refused");
        assert!(err.contains("cert.pem"), "{err}");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        let err = load_acceptor(&files).err().expect("refused");
        assert!(err.contains("holds no certificate"), "{err}");
    }
}
