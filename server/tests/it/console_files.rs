//! The console's built files: content-hashed names in the page, kept for good by browsers, and answered in
//! brotli or gzip from the copies made at build time; pages compressed as they are sent.

use crate::utils::{Backend, TestApp};
use reqwest::StatusCode;
use std::path::Path;

/// A release build's site, as `scripts/build-release.sh` leaves it: hashed names, the hash file, and brotli and
/// gzip copies beside each file (their bytes here only tell them apart).
fn write_hashed_site(root: &Path) {
    let package = root.join("pkg");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(root.join("hash.txt"), "js: JsHash\nwasm: WasmHash\ncss: CssHash\n").unwrap();
    std::fs::write(package.join("tether.WasmHash.wasm"), b"plain wasm").unwrap();
    std::fs::write(package.join("tether.WasmHash.wasm.br"), b"brotli wasm").unwrap();
    std::fs::write(package.join("tether.WasmHash.wasm.gz"), b"gzip wasm").unwrap();
}

async fn fetch(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{path}", app.base_url));
    if let Some(encodings) = accept_encoding {
        request = request.header("Accept-Encoding", encodings);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_files_are_named_in_the_page_kept_for_good_and_sent_compressed() {
    let site = tempfile::tempdir().unwrap();
    write_hashed_site(site.path());
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.server.site_root = site.path().to_path_buf()).await;

    let compressed = fetch(&app, "/signin", Some("gzip")).await;
    assert_eq!(header(&compressed, "content-encoding"), "gzip", "pages are compressed as they are sent");
    let page = fetch(&app, "/signin", None).await.text().await.unwrap();
    for name in ["/pkg/tether.JsHash.js", "/pkg/tether.WasmHash.wasm", "/pkg/tether.CssHash.css"] {
        assert!(page.contains(name), "{name} in the sign-in page");
    }

    for (accepted, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), "br", "brotli wasm"),
        (Some("gzip"), "gzip", "gzip wasm"),
        (None, "", "plain wasm"),
    ] {
        let answer = fetch(&app, "/pkg/tether.WasmHash.wasm", accepted).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(header(&answer, "content-encoding"), encoding, "for Accept-Encoding {accepted:?}");
        assert_eq!(header(&answer, "cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(header(&answer, "vary"), "accept-encoding");
        assert_eq!(answer.text().await.unwrap(), body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_with_plain_names_are_checked_again_each_time() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg").join("tether.css"), "body {}").unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.server.site_root = site.path().to_path_buf()).await;

    let page = fetch(&app, "/signin", None).await.text().await.unwrap();
    assert!(page.contains("/pkg/tether.css") && page.contains("/pkg/tether.js"), "plain names without a hash file");
    let style = fetch(&app, "/pkg/tether.css", None).await;
    assert_eq!(style.status(), StatusCode::OK);
    assert_eq!(header(&style, "cache-control"), "no-cache");
}
