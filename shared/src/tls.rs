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
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine;

/// The Amazon Trust Services roots (Amazon Root CA 1–4) and the Starfield root that
/// cross-signs them, as named in their subjects.
const AWS_ROOT_NAMES: [&[u8]; 5] = [
    b"Amazon Root CA 1",
    b"Amazon Root CA 2",
    b"Amazon Root CA 3",
    b"Amazon Root CA 4",
    b"Starfield Services Root Certificate Authority - G2",
];

/// A self-signed root names itself as issuer near the start of its DER (after the version,
/// serial and signature algorithm), so only that head is searched: a byte-by-byte search of
/// every whole certificate for every name was ≈10 % of a function's cold start (perf).
const NAME_WITHIN: usize = 384;

fn names_itself(der: &[u8], name: &[u8]) -> bool {
    memchr::memmem::find(&der[..der.len().min(NAME_WITHIN)], name).is_some()
}

/// The AWS roots from the compiled-in Mozilla set, as PEM (what the SDK's trust store takes).
pub fn aws_root_pems() -> Vec<String> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter(|der| AWS_ROOT_NAMES.iter().any(|name| names_itself(der, name)))
        .map(|der| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
            let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
            for line in b64.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
            pem
        })
        .collect()
}

/// The HTTP client for every AWS SDK client: rustls with aws-lc, trusting AWS's roots only.
pub fn aws_http_client() -> SharedHttpClient {
    let trust = aws_root_pems()
        .into_iter()
        .fold(TrustStore::empty(), |store, pem| {
            store.with_pem_certificate(pem)
        });
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("a trust store of compiled-in roots is valid"),
        )
        .build_https()
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

    use super::*;

    #[test]
    fn the_aws_trust_store_is_exactly_the_amazon_roots() {
        let pems = aws_root_pems();
        assert_eq!(pems.len(), AWS_ROOT_NAMES.len(), "one certificate per root");
        for pem in &pems {
            let ders: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("valid PEM");
            assert_eq!(ders.len(), 1);
            let mut store = rustls::RootCertStore::empty();
            store.add(ders[0].clone()).expect("parsable root");
        }
    }
}
