//! The web console under `/console/`: same origin as the API, embedded in the binary at
//! build time (`build.rs`). The page is never cached; its assets live under a path naming
//! the console's hash, so they are cached for good. Every answer carries a strict
//! Content-Security-Policy (no inline script or style, no framing) and is gzipped when the
//! browser accepts it.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_files.rs"));
}

pub use embedded::VERSION;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// A file as embedded (gzipped), unzipped.
pub(crate) fn gunzip(gzipped: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gzipped)
        .read_to_end(&mut raw)
        .expect("the build embeds valid gzip");
    raw
}

fn serve(path: &str, headers: &HeaderMap, cache: &'static str) -> Response {
    let Some((_, gzipped)) = embedded::FILES.iter().find(|(name, _)| *name == path) else {
        return not_found();
    };
    let gzip = accepts_gzip(headers);
    let mut response = if gzip {
        gzipped.into_response()
    } else {
        gunzip(gzipped).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    secure(h);
    response
}

fn secure(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "not found").into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure(response.headers_mut());
    response
}

/// `/console` and `/console/`: the one page (its paths are absolute, so both work).
pub async fn page(headers: HeaderMap) -> Response {
    serve("index.html", &headers, "no-cache")
}

/// `/console/assets/{version}/{path}`: only the current version; an old page's request for
/// assets of another build gets 404 and reloads.
pub async fn asset(Path((version, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if version != VERSION || path == "index.html" {
        return not_found();
    }
    serve(&path, &headers, "public, max-age=31536000, immutable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepts_gzip(&headers));
    }

    #[test]
    fn the_page_names_this_builds_assets() {
        let (_, gzipped) = embedded::FILES
            .iter()
            .find(|(name, _)| *name == "index.html")
            .expect("index.html is embedded");
        let raw = gunzip(gzipped);
        let page = std::str::from_utf8(&raw).unwrap();
        assert!(
            page.contains(&format!("/console/assets/{VERSION}/app.js")),
            "{page}"
        );
        assert!(!page.contains("{{VERSION}}"));
        assert!(!embedded::FILES.iter().any(|(n, _)| n.starts_with("tests/")));
    }
}
