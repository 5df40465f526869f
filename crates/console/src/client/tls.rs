//! HTTPS trust for the console: the system's root certificates, plus the ones of a
//! `--ca-file` for a control plane whose certificate a private CA signed. The server's
//! certificate is always verified (name and chain); there is no switch to skip that.

use std::path::Path;

use super::{Client, ClientSetupError, Timeouts};

/// The certificates of a PEM file (one or more `BEGIN CERTIFICATE` blocks).
pub fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientSetupError> {
    let fail = |why: String| ClientSetupError::Http(format!("CA file {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| fail(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(fail("it holds no certificate".into()));
    }
    Ok(certs)
}

impl Client {
    /// A client that trusts `extra_roots` (from [`read_ca_file`]) besides the system's
    /// root certificates.
    pub fn with_extra_roots(
        base_url: &str,
        token: &str,
        timeouts: Timeouts,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Client, ClientSetupError> {
        Client::build(base_url, token, timeouts, extra_roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_ca_file(&dir.path().join("missing.pem")).unwrap_err();
        assert!(missing.to_string().contains("missing.pem"), "{missing}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = read_ca_file(&empty).unwrap_err();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
    }
}
