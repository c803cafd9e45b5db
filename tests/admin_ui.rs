//! The admin web UI end to end, in a real headless Chromium driven over the W3C WebDriver
//! HTTP protocol (chromedriver), against the real binary: page load, create a database,
//! write through the dialog (and its line-by-line errors), Ctrl+Enter, results table and
//! chart, an error's position, completion, the explorer, the status charts, a phone-sized
//! screen, and the login form with auth on. One browser session serves every step.
//!
//! The WebDriver client is a few functions over `std::net::TcpStream` and `serde_json`
//! (already a dev-dependency): the protocol is JSON over HTTP/1.1 and we need a dozen
//! commands, not a crate.
//!
//! Screenshots of every screen go to `$CARGO_TARGET_TMPDIR/admin-ui-screenshots` (the path is
//! printed). Timings (first paint, time to chart for a 10,000-point answer) are printed as
//! `admin-ui timing ...` lines (PERFORMANCE.md). Skips when chromium or chromedriver is
//! missing, unless SLUICE_REQUIRE_CLIENTS=1.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};

const STEP_DEADLINE: Duration = Duration::from_secs(15);
/// `[http] shared-secret` of the auth server, and an HS256 token it signs for `admin`
/// (expiring in 2100; the one tests/golden/auth records).
const JWT_SECRET: &str = "golden-secret";
const ADMIN_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
    eyJ1c2VybmFtZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.\
    hmRmpW36mSB_e6G0x4628Y6Fbqx1IVC-zRB8YNCwi_c";
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromedriver process, killed when dropped (also when start-up fails half-way).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A chromedriver process and one browser session.
struct Browser {
    /// dropped after the session is deleted (fields drop after `Drop::drop`)
    _driver: Driver,
    address: SocketAddr,
    session: String,
    screenshots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = webdriver(
            self.address,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

/// One WebDriver command: JSON in, the answer's `value` out (or the error it names).
fn webdriver(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: the answer ends where its length says.
    let response = common::read_response(&mut std::io::BufReader::new(stream), false)
        .map_err(|e| e.to_string())?;
    let payload = response.text();
    let answer: Value =
        serde_json::from_str(&payload).map_err(|e| format!("{e}: {payload:.300}"))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("{error}: {message:.500}"));
    }
    Ok(value)
}

impl Browser {
    fn start() -> Browser {
        // Port 0: chromedriver picks a free port and prints it (no race with other tests).
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let stdout = driver.stdout.take().expect("chromedriver stdout");
        let driver = Driver(driver);
        let (port_sender, port_receiver) = std::sync::mpsc::channel();
        // Reads on after the port line: a closed pipe would kill chromedriver at its next log.
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = port_sender.send(rest.trim_end_matches('.').parse::<u16>());
                }
            }
        });
        let port = port_receiver
            .recv_timeout(STEP_DEADLINE)
            .expect("chromedriver's port line")
            .expect("a port number");
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + STEP_DEADLINE;
        while webdriver(address, "GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--disable-extensions"]
            }
        }}});
        let session = webdriver(address, "POST", "/session", Some(capabilities))
            .expect("new browser session");
        let session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-ui-screenshots");
        std::fs::create_dir_all(&screenshots).expect("screenshot dir");
        println!("admin-ui screenshots: {}", screenshots.display());
        Browser {
            _driver: driver,
            address,
            session,
            screenshots,
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        webdriver(self.address, method, &path, body)
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    fn navigate(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` as given) in the page.
    fn run(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Waits until `script` returns something truthy; returns it.
    fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + STEP_DEADLINE;
        loop {
            let value = self.run(script, json!([]));
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                self.screenshot("failure");
                panic!(
                    "timed out waiting for {what}; page text:\n{}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn page_text(&self) -> String {
        self.run("return document.body.innerText", json!([]))
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Replaces the text of the field `css` by typing `text` into it.
    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Presses Ctrl+Enter in the focused element.
    fn control_enter(&self) {
        let keys = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": "\u{E009}"}, {"type": "keyDown", "value": "\u{E007}"},
            {"type": "keyUp", "value": "\u{E007}"}, {"type": "keyUp", "value": "\u{E009}"}
        ]}]});
        self.command("POST", "/actions", Some(keys));
        self.command("DELETE", "/actions", None);
    }

    /// Runs `script` asynchronously: it ends by calling its last argument with the result.
    fn run_async(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Performs mouse `actions` (W3C pointer action items).
    fn pointer(&self, actions: Value) {
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.command("POST", "/actions", Some(body));
    }

    fn press(&self, key: &str) {
        let keys = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
        ]}]});
        self.command("POST", "/actions", Some(keys));
    }

    fn select(&self, css: &str, value: &str) {
        self.run(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change'));",
            json!([css, value]),
        );
    }

    fn set_window(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.command("GET", "/screenshot", None);
        let bytes = base64_decode(encoded.as_str().unwrap_or(""));
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }
}

fn chromium_binary() -> &'static str {
    if Path::new("/usr/bin/chromium").exists() {
        "/usr/bin/chromium"
    } else {
        "/usr/bin/chromium-browser"
    }
}

/// Standard base64 (screenshots arrive so); no crate for twenty lines.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn browsers_available() -> bool {
    common::tool_available("chromedriver", &["--version"])
        && common::tool_available(chromium_binary(), &["--version"])
}

#[test]
fn admin_ui_in_a_real_browser() {
    if !browsers_available() {
        return;
    }
    let started = Instant::now();
    let server = Server::start();
    let browser = Browser::start();
    let admin = format!("http://{}/", server.admin_address());

    // Load: the page comes up, its database list from the API on the other port.
    browser.navigate(&admin);
    browser.wait_for(
        "the page to be ready",
        "return document.body.dataset.ready === 'true'",
    );
    let first_paint = browser.run(
        "const p = performance.getEntriesByType('paint')\
           .find(e => e.name === 'first-contentful-paint'); return p ? p.startTime : null",
        json!([]),
    );
    println!("admin-ui timing first-contentful-paint-ms={first_paint}");
    let unlabeled = browser.run(
        "return [...document.querySelectorAll('input, select, textarea')]\
           .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id)",
        json!([]),
    );
    assert_eq!(unlabeled, json!([]), "every field has a label");

    // Create a database with Ctrl+Enter in the editor.
    browser.type_into("#query", "CREATE DATABASE uitest");
    browser.control_enter();
    browser.wait_for(
        "the new database in the selector",
        "return [...document.querySelectorAll('#db-select option')].some(o => o.value === 'uitest')",
    );
    browser.select("#db-select", "uitest");
    browser.screenshot("query-editor");

    // Write through the dialog: three hosts, then a body with bad lines.
    browser.click("#open-write");
    browser.wait_for(
        "the write dialog",
        "return document.querySelector('#write-dialog').open",
    );
    browser.select("#write-db", "uitest");
    browser.select("#write-precision", "s");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut lines = Vec::new();
    for minute in 0..20u64 {
        for (host, base) in [("a", 10), ("b", 20), ("c", 30)] {
            let time = now_s - 1200 + minute * 60;
            lines.push(format!("cpu,host={host} usage={} {time}", base + minute));
        }
    }
    browser.type_into("#write-body", &lines.join("\n"));
    browser.click("#write-send");
    let wrote = browser.wait_for(
        "the write to succeed",
        "const ok = document.querySelector('#write-ok'); return ok && ok.textContent",
    );
    assert_eq!(wrote, json!("Wrote 60 lines."));
    browser.type_into(
        "#write-body",
        "cpu,host=d usage=1\nthis is bad\ncpu,host=e usage=2\nalso_bad",
    );
    browser.click("#write-send");
    let errors = browser.wait_for(
        "the partial write's errors",
        "const l = document.querySelectorAll('#write-errors li'); \
           return l.length ? [...l].map(e => e.textContent) : null",
    );
    let errors: Vec<String> = serde_json::from_value(errors).expect("strings");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 2: "), "{errors:?}");
    assert!(errors[1].starts_with("line 4: "), "{errors:?}");
    browser.screenshot("write-dialog");
    browser.click("#write-close");

    // A query run with Ctrl+Enter: one table per series, one chart line per series.
    browser.type_into(
        "#query",
        "SELECT usage FROM cpu WHERE host =~ /a|b|c/ GROUP BY host",
    );
    browser.control_enter();
    browser.wait_for(
        "three series tables",
        "return document.querySelectorAll('#results .series').length === 3",
    );
    let titles = browser.run(
        "return [...document.querySelectorAll('#results .series h3')].map(h => h.textContent)",
        json!([]),
    );
    assert_eq!(
        titles,
        json!(["cpu {host=a}", "cpu {host=b}", "cpu {host=c}"])
    );
    let first_row = browser.run(
        "return [...document.querySelectorAll('#results .series')[1]\
           .querySelectorAll('tbody tr:first-child td')].map(t => t.textContent)",
        json!([]),
    );
    assert_eq!(first_row[1], json!("20"), "{first_row}");
    let drawn = browser.wait_for(
        "the chart to draw",
        "const c = document.querySelector('#results .chart'); \
           return c && c.dataset.drawnSeries",
    );
    assert_eq!(drawn, json!("3"), "one line per series");
    browser.screenshot("query-results");

    // Hover shows values; a drag zooms the time axis.
    let over = browser.element("#results .chart .u-over");
    let origin = json!({ ELEMENT_KEY: over });
    browser.pointer(json!([{"type": "pointerMove", "origin": origin, "x": 0, "y": 0}]));
    browser.wait_for(
        "hover values in the legend",
        "const v = document.querySelector('#results .chart .u-legend .u-series:nth-child(2) .u-value'); \
           return v && v.textContent !== '--' && v.textContent",
    );
    let range = "const x = document.querySelector('#results .chart').uplot.scales.x; \
                 return x.max - x.min";
    let before = browser.run(range, json!([])).as_f64().expect("range");
    browser.pointer(json!([
        {"type": "pointerMove", "origin": origin, "x": -200, "y": 0},
        {"type": "pointerDown", "button": 0},
        {"type": "pointerMove", "origin": origin, "x": 100, "y": 0, "duration": 200},
        {"type": "pointerUp", "button": 0}
    ]));
    let after = browser.run(range, json!([])).as_f64().expect("range");
    assert!(after < before / 2.0, "zoomed from {before} to {after}");

    // Downloads: the whole result as CSV and as JSON.
    // The page's CSP keeps `fetch` off blob: URLs: the Blob is taken where it is made.
    let capture = "const done = arguments[arguments.length - 1]; \
        const create = URL.createObjectURL; let blob; \
        URL.createObjectURL = (b) => { blob = b; return create.call(URL, b); }; \
        const click = HTMLAnchorElement.prototype.click; \
        HTMLAnchorElement.prototype.click = function () { \
          HTMLAnchorElement.prototype.click = click; URL.createObjectURL = create; \
          blob.text().then(t => done([this.download, t])); }; \
        document.querySelector(arguments[0]).click();";
    let csv = browser.run_async(capture, json!(["#results .download-csv"]));
    assert_eq!(csv[0], json!("sluice-result.csv"));
    let csv = csv[1].as_str().expect("csv").to_string();
    assert_eq!(csv.lines().next(), Some("name,host,time,usage"));
    assert_eq!(csv.lines().count(), 61, "{csv}");
    let downloaded = browser.run_async(capture, json!(["#results .download-json"]));
    let downloaded: Value =
        serde_json::from_str(downloaded[1].as_str().expect("json")).expect("valid JSON");
    assert_eq!(downloaded["series"].as_array().map(Vec::len), Some(3));

    // The history holds what ran.
    let history = browser.run(
        "return [...document.querySelectorAll('#history-select option')].map(o => o.value)",
        json!([]),
    );
    assert!(
        history
            .as_array()
            .is_some_and(|h| h.contains(&json!("CREATE DATABASE uitest"))),
        "{history}"
    );

    // Completion offers the measurement's field names.
    browser.type_into("#query", "SELECT us");
    let offered = browser.wait_for(
        "completions",
        "const l = document.querySelector('#completions'); \
           return !l.hidden && [...l.querySelectorAll('li span')].map(s => s.textContent)",
    );
    assert!(
        offered
            .as_array()
            .is_some_and(|a| a.contains(&json!("usage"))),
        "{offered}"
    );
    browser.press("\u{E004}"); // Tab accepts
    let text = browser.run("return document.querySelector('#query').value", json!([]));
    assert_eq!(text, json!("SELECT usage"));

    // An error, with its position.
    browser.type_into("#query", "SELECT mean(usage FROMM cpu");
    browser.control_enter();
    let position = browser.wait_for(
        "the error position",
        "const p = document.querySelector('#error-position'); return p && p.textContent",
    );
    assert_eq!(position, json!("Line 1, character 19"));
    let marked = browser.run(
        "return document.querySelector('#error-mark').textContent",
        json!([]),
    );
    assert_eq!(marked, json!("FROMM"));
    browser.screenshot("query-error");

    // The explorer: database → policy → measurement → fields and tags with cardinalities.
    browser.click("#tab-explore");
    browser.wait_for(
        "the database in the tree",
        "return [...document.querySelectorAll('#tree button')].find(b => b.textContent.includes('uitest'))",
    );
    let open = |label: &str| {
        browser.run(
            "[...document.querySelectorAll('#tree button')]\
               .find(b => b.textContent.startsWith('▸ ' + arguments[0])).click()",
            json!([label]),
        );
    };
    open("uitest");
    browser.wait_for(
        "the retention policy",
        "return [...document.querySelectorAll('#tree button')].some(b => b.textContent.startsWith('▸ autogen'))",
    );
    open("autogen");
    browser.wait_for(
        "the measurement",
        "return [...document.querySelectorAll('#tree button')].some(b => b.textContent.startsWith('▸ cpu'))",
    );
    open("cpu");
    let host_values = browser.wait_for(
        "the tag's cardinality",
        "const t = document.querySelector('#tree button.tag .count'); return t && t.textContent",
    );
    assert_eq!(host_values, json!("5 values"));
    browser.screenshot("explorer");
    browser.click("#tree button.field");
    browser.wait_for(
        "the built query's chart",
        "const c = document.querySelector('#results .chart'); \
           return !document.querySelector('#view-query').hidden && c && c.dataset.drawnSeries === '1'",
    );
    let built = browser.run("return document.querySelector('#query').value", json!([]));
    assert!(
        built.as_str().is_some_and(|q| q.starts_with(
            "SELECT mean(usage) FROM uitest.autogen.cpu WHERE time > now() - 1h GROUP BY time(1m)"
        )),
        "{built}"
    );

    // Status: small charts refreshing from /debug/vars.
    browser.click("#tab-status");
    browser.wait_for(
        "two status samples",
        "const m = document.querySelector('#metric-series'); return m && Number(m.dataset.samples) >= 2",
    );
    let series = browser.run(
        "return document.querySelector('#metric-series .value').textContent",
        json!([]),
    );
    assert_eq!(series, json!("5"));
    let charts = browser.run(
        "return document.querySelectorAll('#status-grid canvas').length",
        json!([]),
    );
    assert_eq!(charts, json!(6));
    browser.screenshot("status");

    // Keyboard: arrows move between tabs.
    browser.run("document.querySelector('#tab-status').focus()", json!([]));
    browser.press("\u{E012}"); // ArrowLeft
    browser.wait_for(
        "the explorer tab by keyboard",
        "return document.querySelector('#tab-explore').getAttribute('aria-selected') === 'true'",
    );

    // Time to chart for a 10,000-point answer.
    let mut body = String::new();
    for i in 0..10_000u64 {
        body.push_str(&format!("big v={} {}\n", i % 97, now_s - 10_000 + i));
    }
    let written = server.write("db=uitest&precision=s", &body);
    assert_eq!(written.status, 204);
    browser.click("#tab-query");
    browser.run(
        "document.querySelector('#results').replaceChildren()",
        json!([]),
    );
    browser.type_into("#query", "SELECT v FROM big");
    browser.control_enter();
    browser.wait_for(
        "the 10,000-point chart",
        "const c = document.querySelector('#results .chart'); \
           const p = window.sluiceAdmin.perf; \
           return c && c.dataset.drawnSeries === '1' && p.chartDrawnAt > p.runStartedAt",
    );
    let timing = browser.run(
        "const p = window.sluiceAdmin.perf; return [p.chartDrawnAt - p.runStartedAt, p.lastRenderMs]",
        json!([]),
    );
    println!(
        "admin-ui timing time-to-chart-10000-points-ms={} results-rendered-ms={}",
        timing[0], timing[1]
    );
    let note = browser.run(
        "return document.querySelector('#results .note').textContent",
        json!([]),
    );
    assert!(
        note.as_str().is_some_and(|n| n.contains("of 10000 rows")),
        "{note}"
    );

    // A phone-sized screen: nothing wider than the viewport.
    browser.set_window(390, 844);
    browser.click("#tab-query");
    browser.type_into("#query", "SELECT usage FROM cpu GROUP BY host");
    browser.control_enter();
    browser.wait_for(
        "the results on a phone",
        "return document.querySelectorAll('#results .series').length === 5",
    );
    let overflow = browser.run(
        "return document.documentElement.scrollWidth - window.innerWidth",
        json!([]),
    );
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "overflow {overflow}"
    );
    browser.screenshot("phone");
    browser.set_window(1280, 1000);

    // With auth on: the login form, then the app; no password kept in storage.
    let secure = Server::start_with(&[
        ("SLUICE_HTTP_AUTH_ENABLED", "true"),
        ("SLUICE_HTTP_SHARED_SECRET", JWT_SECRET),
    ]);
    let (status, _) =
        secure.query("CREATE USER admin WITH PASSWORD 'pw-secret-1' WITH ALL PRIVILEGES");
    assert_eq!(status, 200);
    browser.navigate(&format!("http://{}/", secure.admin_address()));
    browser.wait_for(
        "the login form",
        "return document.body.dataset.ready === 'login'",
    );
    browser.type_into("#login-user", "admin");
    browser.type_into("#login-password", "wrong");
    browser.click("#login-submit");
    browser.wait_for(
        "the refusal",
        "return document.querySelector('#login-error').textContent.includes('refused')",
    );
    browser.screenshot("login");
    browser.type_into("#login-user", "admin");
    browser.type_into("#login-password", "pw-secret-1");
    browser.click("#login-submit");
    browser.wait_for(
        "the app after login",
        "return document.body.dataset.ready === 'true'",
    );
    browser.click("#tab-status");
    browser.wait_for(
        "/debug/vars with credentials",
        "const m = document.querySelector('#metric-memory .value'); return m && m.textContent !== '…'",
    );
    let stored = browser.run(
        "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)",
        json!([]),
    );
    assert!(
        !stored.as_str().unwrap_or("").contains("pw-secret-1"),
        "{stored}"
    );
    // Log out, then in again with a JWT bearer token.
    browser.click("#logout");
    browser.wait_for(
        "the login form again",
        "return document.body.dataset.ready === 'login'",
    );
    browser.type_into("#login-token", ADMIN_JWT);
    browser.click("#login-submit");
    let who = browser.wait_for(
        "the app after a token login",
        "return document.body.dataset.ready === 'true' && document.querySelector('#who').textContent",
    );
    assert_eq!(who, json!("as token"));
    println!("admin-ui test took {:?}", started.elapsed());
}

#[test]
fn admin_port_serves_assets_with_validators() {
    let server = Server::start();
    let admin = server.admin_address();
    let page = common::request(admin, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("Cache-Control"), Some("no-cache"));
    assert!(page.text().contains("<title>Sluice admin</title>"));
    let etag = page.header("ETag").expect("etag").to_string();
    let again = common::request(
        admin,
        "GET",
        "/index.html",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let script = common::request(
        admin,
        "GET",
        "/vendor/uplot.min.js",
        &[("Accept-Encoding", "gzip, deflate")],
        b"",
    );
    assert_eq!(script.status, 200);
    assert_eq!(script.header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        script.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    let config = common::request(admin, "GET", "/config.json", &[], b"");
    let config: Value = serde_json::from_slice(&config.body).expect("json");
    assert_eq!(config["apiPort"], json!(server.address.port()));
    assert_eq!(common::request(admin, "GET", "/nope", &[], b"").status, 404);
    assert_eq!(
        common::request(admin, "POST", "/app.js", &[], b"").status,
        405
    );
    // The API answers the UI's preflight for /debug/vars (it sends Authorization).
    let preflight = common::request(
        server.address,
        "OPTIONS",
        "/debug/vars",
        &[("Origin", "http://example.test")],
        b"",
    );
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("Access-Control-Allow-Origin"),
        Some("http://example.test")
    );
}
