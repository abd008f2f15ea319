//! TLS for the PostgreSQL connection: one rustls client configuration per `sslmode`.
//!
//! rustls (with ring's primitives) rather than the platform's OpenSSL: a binary linked
//! against libssl and libcrypto pays for mapping and relocating them, and for their symbol
//! lookups, on every start, whether or not it ever speaks to a database. That was a third of
//! `defer --version` (BENCHMARKS.md). The modes mean what they mean to libpq
//! (docs/postgres.md): without verification the handshake is still signed by the key of the
//! certificate the server sent, only that certificate is not judged; `verify-ca` judges the
//! chain alone; `verify-full` the chain and the host name. Trusted roots are the system's
//! (`rustls-native-certs`, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR` as OpenSSL does),
//! read only when a mode verifies.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::Tls;

/// Why no TLS configuration could be built for the mode asked for.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A verifying mode, but the system trust store gave no usable root certificate.
    #[error(
        "sslmode={mode} needs trusted root certificates, and none could be read from the system trust store{detail} (install the ca-certificates package, or point SSL_CERT_FILE at a PEM file of the roots to trust)"
    )]
    NoRoots { mode: &'static str, detail: String },
    /// rustls refused the configuration (no protocol version both sides of it support).
    #[error("rustls refused the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The connector for `tls`: checks as the mode asks, nothing more.
pub(super) fn connector(tls: Tls) -> Result<MakeRustlsConnect, TlsSetupError> {
    // rustls 0.23.48 deprecates its ring provider for want of post-quantum key exchange; the
    // other provider (aws-lc-rs) needs cmake to build and a much larger C library linked in.
    // PostgreSQL servers on OpenSSL before 3.5 offer no post-quantum group either, so ring
    // negotiates what libpq did (X25519).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let config = match tls {
        Tls::VerifyFull => builder
            .with_root_certificates(system_roots("verify-full")?)
            .with_no_client_auth(),
        Tls::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly {
                roots: system_roots("verify-ca")?,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Tls::Off | Tls::Allow | Tls::Unverified => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unjudged {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The system's trusted roots; an error if there are none, since every certificate would
/// then be refused with a message that does not say why.
fn system_roots(mode: &'static str) -> Result<RootCertStore, TlsSetupError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let detail = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(TlsSetupError::NoRoots { mode, detail });
    }
    Ok(roots)
}

/// `prefer`, `require` and the plain-first local default: the server's certificate is taken
/// as it comes (libpq without a root certificate), but the handshake must still be signed
/// with its key.
#[derive(Debug)]
struct Unjudged {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unjudged {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the certificate must chain to a trusted root and be valid now; the name it
/// carries is not compared with the host (libpq's meaning of the mode).
#[derive(Debug)]
struct ChainOnly {
    roots: RootCertStore,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
