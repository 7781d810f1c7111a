//! TLS for `serve`: the certificate chain and key named by `--tls-cert`/`--tls-key` (or
//! `[serve] tls_cert`/`tls_key`) become one rustls server configuration, shared by the HTTP
//! listener (which then speaks HTTPS only, and answers a plain HTTP request with a 400 saying
//! so) and `--syslog tls://` (RFC 5425: octet-counted frames over TLS).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate and key files, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A server configuration from PEM files: the chain in `cert` (leaf first), the key in `key`
/// (PKCS#8, PKCS#1 or SEC1). HTTP/1.1 is offered by ALPN.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|error| anyhow::anyhow!("--tls-key {}: no private key read: {error}", files.key.display()))?;
    // ring, as ureq's client uses: no post-quantum key exchange (hence the deprecation), but no
    // second C library to build either (aws-lc-rs).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| {
            anyhow::anyhow!("--tls-cert {} with --tls-key {}: {error}", files.cert.display(), files.key.display())
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| anyhow::anyhow!("--tls-cert {}: {error}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("--tls-cert {}: no PEM certificate in the file", path.display());
    }
    Ok(certs)
}

/// The configuration for syslog over TLS: no TLS 1.3 session tickets. A syslog sender only
/// writes; tickets the server sends after the handshake stay unread in its socket, and when it
/// closes, its kernel answers with a reset that makes ours discard the messages not yet read.
pub fn for_senders_that_never_read(config: &Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut config = (**config).clone();
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// What a plain HTTP request on the TLS port is told before the connection closes.
pub const PLAIN_HTTP_REFUSAL: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
connection: close\r\ncontent-length: 47\r\n\r\nthis port speaks HTTPS only: use https:// here\n";

/// Whether the first byte of a connection starts a TLS handshake record.
pub fn starts_tls(first_byte: u8) -> bool {
    first_byte == 0x16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_its_length_right() {
        let body = PLAIN_HTTP_REFUSAL.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(PLAIN_HTTP_REFUSAL.len() - body, 47);
    }

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let files = TlsFiles { cert: empty.clone(), key: dir.path().join("missing.pem") };
        let error = server_config(&files).unwrap_err().to_string();
        assert!(error.contains("empty.pem") && error.contains("no PEM certificate"), "{error}");
    }
}
