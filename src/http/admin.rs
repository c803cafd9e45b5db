//! The admin web UI (`[admin]`, port 8083 by default): a few static files embedded in the
//! binary, served by the event loops on their own SO_REUSEPORT listener (`net`), plus
//! `/config.json`, which tells the page where the HTTP API is.
//!
//! The page holds no privilege of its own: it talks to the HTTP API (`/query`, `/write`,
//! `/debug/vars`) from the browser, cross-origin (the API answers CORS as InfluxDB does),
//! with the user's credentials, so auth and privileges are the API's. This module never
//! touches data, meta or credentials.
//!
//! Invariants: every asset is built once at start-up ([`AdminSite::new`]): its bytes are
//! `'static` (`include_bytes!`), its gzip form and its ETag (CRC-32 and length of the
//! bytes) computed then, so a request costs a lookup and a copy. Every answer is
//! `Cache-Control: no-cache` (the URLs carry no version; the browser revalidates with
//! `If-None-Match` and gets a 304).

use std::borrow::Cow;

use crate::http::framing::{Method, Request};
use crate::http::response::Response;

/// The policy the page runs under: scripts and styles only from this port, requests to any
/// origin (the API is on another port, or another host with `api-url`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src *; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// (path, media type, bytes) of every embedded file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_bytes!("admin/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("admin/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("admin/app.css"),
    ),
    (
        "/vendor/uplot.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("admin/vendor/uplot-1.6.32.min.js"),
    ),
    (
        "/vendor/uplot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("admin/vendor/uplot-1.6.32.min.css"),
    ),
    (
        "/vendor/uPlot-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("admin/vendor/uPlot-LICENSE.txt"),
    ),
];

/// One file the UI serves, ready to send.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    /// the embedded bytes (`/config.json`'s are built at start-up)
    body: Cow<'static, [u8]>,
    /// the body gzip-compressed, when that is smaller
    gzipped: Option<Vec<u8>>,
    /// quoted strong validator
    etag: String,
}

impl Asset {
    fn new(path: &'static str, content_type: &'static str, body: Cow<'static, [u8]>) -> Asset {
        let etag = format!("\"{:08x}-{:x}\"", crc32fast::hash(&body), body.len());
        let gzipped = gzip(&body).filter(|compressed| compressed.len() < body.len());
        Asset {
            path,
            content_type,
            body,
            gzipped,
            etag,
        }
    }
}

/// Every file of the admin UI, built at start-up.
pub struct AdminSite {
    assets: Vec<Asset>,
}

/// Where the page finds the HTTP API (`/config.json`).
pub struct ApiLocation<'a> {
    /// `[admin] api-url` (empty: derive it from the page's host)
    pub url: &'a str,
    /// the HTTP API's port
    pub port: u16,
    /// `[http] https-enabled`
    pub https: bool,
}

impl AdminSite {
    /// Builds every asset (gzip and ETag) and the `/config.json` for `api`.
    pub fn new(api: &ApiLocation<'_>) -> AdminSite {
        let mut assets: Vec<Asset> = ASSETS
            .iter()
            .map(|(path, content_type, body)| Asset::new(path, content_type, Cow::Borrowed(body)))
            .collect();
        assets.push(Asset::new(
            "/config.json",
            "application/json",
            Cow::Owned(config_json(api).into_bytes()),
        ));
        AdminSite { assets }
    }

    /// Total bytes of the embedded files (as compiled in).
    pub fn embedded_bytes() -> usize {
        ASSETS.iter().map(|(_, _, body)| body.len()).sum()
    }

    /// Answers one request to the admin port: GET/HEAD of a known path, else 404/405.
    pub fn route(&self, request: &Request) -> Response {
        let head = &request.head;
        let path = match head.path.as_str() {
            "/" => "/index.html",
            other => other,
        };
        let Some(asset) = self.assets.iter().find(|asset| asset.path == path) else {
            return Response::plain_text(404, "404 page not found");
        };
        if !matches!(head.method, Method::Get | Method::Head) {
            let mut response = Response::plain_text(405, "Method Not Allowed");
            response.headers.push(("Allow", "GET, HEAD".to_string()));
            return response;
        }
        let not_modified = head
            .if_none_match
            .as_deref()
            .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == asset.etag));
        if not_modified {
            return asset.answer(304);
        }
        let mut response = asset.answer(200);
        response
            .headers
            .push(("Content-Type", asset.content_type.to_string()));
        let gzip_accepted = head.accept_encoding.as_deref().is_some_and(accepts_gzip);
        response.body = match (&asset.gzipped, gzip_accepted) {
            (Some(gzipped), true) => {
                response
                    .headers
                    .push(("Content-Encoding", "gzip".to_string()));
                gzipped.clone()
            }
            _ => asset.body.to_vec(),
        };
        response
    }
}

impl Asset {
    /// The headers every answer about this asset carries (a 304 as much as a 200).
    fn answer(&self, status: u16) -> Response {
        let mut response = Response::empty(status);
        response.headers.extend([
            ("Cache-Control", "no-cache".to_string()),
            ("ETag", self.etag.clone()),
            ("Vary", "Accept-Encoding".to_string()),
            ("X-Content-Type-Options", "nosniff".to_string()),
        ]);
        if self.path == "/index.html" {
            response.headers.push((
                "Content-Security-Policy",
                CONTENT_SECURITY_POLICY.to_string(),
            ));
        }
        response
    }
}

/// `Accept-Encoding` lists `gzip` (or `*`) with a non-zero quality.
fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let refused = parts.any(|parameter| {
            let parameter = parameter.trim().replace(' ', "");
            parameter == "q=0" || parameter == "q=0.0" || parameter == "q=0.00"
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

fn config_json(api: &ApiLocation<'_>) -> String {
    let mut json = Vec::new();
    json.extend_from_slice(b"{\"apiUrl\":");
    crate::http::response::push_json_string(&mut json, api.url.as_bytes());
    let scheme = if api.https { "https" } else { "http" };
    json.extend_from_slice(
        format!(
            ",\"apiPort\":{},\"apiScheme\":\"{scheme}\",\"version\":\"{}\"}}\n",
            api.port,
            crate::SLUICE_VERSION
        )
        .as_bytes(),
    );
    String::from_utf8_lossy(&json).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance_reads_qualities() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("deflate, br"));
    }

    #[test]
    fn the_embedded_assets_stay_small() {
        // The issue's budget: at most a few hundred KB added to the binary.
        assert!(AdminSite::embedded_bytes() < 300 * 1024);
    }

    #[test]
    fn config_json_names_the_api() {
        let text = config_json(&ApiLocation {
            url: "",
            port: 8086,
            https: false,
        });
        assert!(text.starts_with("{\"apiUrl\":\"\",\"apiPort\":8086,\"apiScheme\":\"http\""));
    }
}
