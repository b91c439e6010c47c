//! Trust roots for outbound TLS, compiled in.
//!
//! By default every TLS stack in the process (the AWS SDK's and each reqwest client's) reads
//! and parses the system's CA bundle on its own: three loads per cold start, most of a
//! function's start-up time (measured with `infra/bench.sh coldstart`). Compiled-in roots
//! cost nothing at start-up and are the same in Lambda, in tests and on a laptop; the price
//! is that a root-store change ships with a rebuild, which a Lambda deployment is anyway.
//!
//! - Receivers and messaging providers are anybody on the public web: Mozilla's roots
//!   (`webpki-roots`).
//! - The AWS SDK talks only to AWS, whose endpoints all chain to Amazon Trust Services: those
//!   roots alone, so a certificate from any other CA is refused for AWS traffic.

use std::sync::{Arc, LazyLock};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// The Amazon Trust Services roots (Amazon Root CA 1–4) and the Starfield root that
/// cross-signs them, as PEM (what the SDK's trust store takes). Compiled in rather than
/// picked out of Mozilla's set at start-up: finding and encoding them was ≈0.9 M
/// instructions of every cold start (callgrind). A test checks that the file holds exactly
/// those roots of the `webpki-root-certs` crate, so a root-store update cannot drift past it.
pub const AWS_ROOTS_PEM: &str = include_str!("../certs/aws-roots.pem");

/// The HTTP client for every AWS SDK client: rustls with aws-lc, trusting AWS's roots only.
pub fn aws_http_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
    let client = Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("a trust store of compiled-in roots is valid"),
        )
        .build_https();
    ConnectorOnFirstRequest(client).into_shared()
}

/// The SDK's hyper client, without its start-up check. That check builds a TLS connector
/// when each SDK client is made, only to drop it (it exists to surface unreadable system
/// certificates early), and then the connector that is used is built again at the first
/// request. With compiled-in roots there is nothing to surface, and the check was four
/// connector builds per cold start, each parsing every root's PEM (≈1 M instructions,
/// callgrind). Everything else is forwarded: the one connector is built at the first
/// request and shared by every SDK client, since they share this client.
#[derive(Debug)]
struct ConnectorOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectorOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

static PUBLIC_WEB: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
});

/// The TLS configuration for calls to the public web (receivers, Twilio, Vonage, Meta):
/// Mozilla's roots, for `reqwest::ClientBuilder::tls_backend_preconfigured`.
pub fn public_web() -> rustls::ClientConfig {
    PUBLIC_WEB.clone()
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    use super::*;

    /// The roots AWS endpoints chain to, as named in their subjects.
    const AWS_ROOT_NAMES: [&[u8]; 5] = [
        b"Amazon Root CA 1",
        b"Amazon Root CA 2",
        b"Amazon Root CA 3",
        b"Amazon Root CA 4",
        b"Starfield Services Root Certificate Authority - G2",
    ];

    /// A self-signed root names itself as issuer near the start of its DER.
    fn names_itself(der: &[u8], name: &[u8]) -> bool {
        memchr::memmem::find(&der[..der.len().min(384)], name).is_some()
    }

    #[test]
    fn the_aws_roots_are_exactly_the_amazon_trust_services_roots() {
        let mut compiled_in: Vec<Vec<u8>> =
            CertificateDer::pem_slice_iter(AWS_ROOTS_PEM.as_bytes())
                .map(|der| der.expect("valid PEM").as_ref().to_vec())
                .collect();
        let mut mozilla: Vec<Vec<u8>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|der| AWS_ROOT_NAMES.iter().any(|name| names_itself(der, name)))
            .map(|der| der.as_ref().to_vec())
            .collect();
        assert_eq!(
            mozilla.len(),
            AWS_ROOT_NAMES.len(),
            "one certificate per root"
        );
        compiled_in.sort();
        mozilla.sort();
        assert!(
            compiled_in == mozilla,
            "certs/aws-roots.pem differs from Mozilla's AWS roots"
        );
        let mut store = rustls::RootCertStore::empty();
        for der in compiled_in {
            store.add(CertificateDer::from(der)).expect("parsable root");
        }
        assert_eq!(store.len(), AWS_ROOT_NAMES.len());
    }
}
