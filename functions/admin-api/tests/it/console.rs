//! The console is served from the binary: one never-cached page, assets cached for good under
//! the console's version, gzip when accepted, and a strict Content-Security-Policy throughout.

use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::Api;

async fn get(api: &Api, path: &str, gzip: bool) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut request = http::Request::builder().uri(path);
    if gzip {
        request = request.header("accept-encoding", "gzip, br");
    }
    let response = admin_api::router(api.stack.ctx.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("gzip");
    out
}

#[tokio::test]
async fn the_console_is_served_with_its_caching_and_security_headers() {
    let api = Api::new("console").await;
    for path in ["/console", "/console/"] {
        let (status, headers, body) = get(&api, path, false).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-cache");
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let page = String::from_utf8(body).unwrap();
        assert!(!page.contains("<script>"), "no inline script: {page}");
    }

    let (_, _, page) = get(&api, "/console/", false).await;
    let page = String::from_utf8(page).unwrap();
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page names its script");
    assert!(script.starts_with("/console/assets/"), "{script}");

    let (status, headers, plain) = get(&api, script, false).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(headers.get("content-encoding").is_none());
    let (status, headers, zipped) = get(&api, script, true).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert_eq!(gunzip(&zipped).as_bytes(), plain.as_slice());
    assert!(zipped.len() < plain.len());

    // Another build's assets, unknown files and the tests are not served.
    let other_version = format!(
        "/console/assets/000000000000/{}",
        script.rsplit('/').next().unwrap()
    );
    for path in [
        other_version.as_str(),
        "/console/assets/x/../../api/health",
        &script.replace("app.js", "nope.js"),
        &script.replace("app.js", "tests/journeys.py"),
        &script.replace("app.js", "index.html"),
    ] {
        let (status, headers, _) = get(&api, path, false).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers.contains_key("content-security-policy"));
    }

    // What a first load costs, compressed: the page, the script modules and the stylesheet.
    let mut first_load = 0;
    let modules = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console/pages"))
        .unwrap()
        .map(|e| format!("pages/{}", e.unwrap().file_name().to_string_lossy()));
    for asset in [
        "app.js",
        "api.js",
        "ui.js",
        "format.js",
        "app.css",
        "vendor/preact-htm.js",
    ]
    .into_iter()
    .map(String::from)
    .chain(modules)
    {
        let (status, _, body) = get(&api, &script.replace("app.js", &asset), true).await;
        assert_eq!(status, 200, "{asset}");
        first_load += body.len();
    }
    assert!(first_load < 200 * 1024, "first load {first_load} bytes");
}

#[tokio::test]
async fn the_openapi_document_is_the_committed_file_gzipped_when_accepted() {
    let api = Api::new("openapi-served").await;
    let committed = include_str!("../../openapi.json");
    let (status, headers, zipped) = get(&api, "/api/openapi.json", true).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(gunzip(&zipped), committed);
    assert!(
        zipped.len() * 5 < committed.len(),
        "{} bytes gzipped",
        zipped.len()
    );
    let (status, headers, plain) = get(&api, "/api/openapi.json", false).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(String::from_utf8(plain).unwrap(), committed);
}
