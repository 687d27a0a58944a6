//! The console's built files (`server.site_root`): the content-hashed names a release build gives them, and how
//! long a browser may keep each one.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;

/// The file, beside the site's files, that names the content hash of each of the console's script, WebAssembly
/// and style files (`js: …`, `wasm: …`, `css: …`). A release build writes it (`scripts/build-release.sh`);
/// without it the files keep their plain names, as a development build leaves them.
pub const HASH_FILE_NAME: &str = "hash.txt";

/// Where the console's script, WebAssembly and style files are served from.
const PACKAGE_PATH: &str = "/pkg/";

/// A hashed file never changes under its name, so a browser may keep it for a year without asking again.
const HASHED_FILE_POLICY: &str = "public, max-age=31536000, immutable";
/// A file with a plain name may change with the next build: the browser asks again each time (and gets a 304
/// when nothing changed).
const PLAIN_FILE_POLICY: &str = "no-cache";

/// The Leptos options for a site at `site_root`, with hashed file names when the build wrote its hash file.
pub fn leptos_options(site_root: &Path, listen: SocketAddr) -> LeptosOptions {
    let hash_file = hash_file(site_root);
    LeptosOptions::builder()
        .output_name("tether")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .hash_files(hash_file.is_file())
        // Leptos joins this name to the running executable's folder; an absolute path replaces that folder, so
        // the binary may be moved away from its build.
        .hash_file(hash_file.to_string_lossy().to_string().into())
        .build()
}

fn hash_file(site_root: &Path) -> PathBuf {
    std::path::absolute(site_root).unwrap_or_else(|_| site_root.to_path_buf()).join(HASH_FILE_NAME)
}

/// Adds `Cache-Control` and `Vary` to the console's package files: kept for good when their names carry a content hash,
/// asked for again each time otherwise.
pub async fn cache_policy(State(hashed): State<bool>, request: Request, next: Next) -> Response {
    let is_package_file = request.uri().path().starts_with(PACKAGE_PATH);
    let mut response = next.run(request).await;
    if is_package_file && matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
        let policy = if hashed { HASHED_FILE_POLICY } else { PLAIN_FILE_POLICY };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same name answers brotli, gzip or plain bytes by `Accept-Encoding`; shared caches must keep them apart.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Compresses the console's pages and server function answers by `Accept-Encoding` (brotli, else gzip), at a
/// level cheap enough to run per answer. Files with copies made at build time are sent as those copies instead.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(ANSWER_COMPRESSION_LEVEL))
}

/// Brotli quality 4 and gzip level 4: most of the saving for a small part of the highest levels' time.
const ANSWER_COMPRESSION_LEVEL: i32 = 4;
