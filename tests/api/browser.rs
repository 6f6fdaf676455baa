//! The member web page in a real browser: Debian's Chromium, headless,
//! driven over WebDriver by chromedriver. Signs in, uploads a CSV that
//! trips a plausibility warning, explains it, opens the report, counts what
//! the charts drew, and saves a screenshot of the upload page and of the
//! report and a print-to-PDF of the report under `target/browser/`. Then a
//! lead member accepts an invitation and visits its account's pages, and
//! signs out, in and uploads with the keyboard alone. Every page is checked
//! with axe-core (WCAG 2.1 A and AA).
//!
//! `.ci/run` installs `chromium` and `chromium-driver`. Without them the
//! test fails under `CI=true` and is skipped with a message elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arrow::array::{Array, Float64Array, StringArray};
use base64::Engine as _;
use serde_json::{Value, json};
use vergleichsring_engine::disclosure::{Policy, Visibility};
use vergleichsring_store::Role;

use crate::helpers::TestApp;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver as a child process, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub(crate) async fn find_all(&self, css: &str) -> Vec<String> {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
            .collect()
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let all = self.find_all(css).await;
        assert!(!all.is_empty(), "no element matches {css}");
        all[0].clone()
    }

    pub(crate) async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    /// Presses keys on the keyboard (WebDriver key actions), as a person
    /// without a mouse does: `\u{E004}` is Tab, `\u{E007}` Enter,
    /// `\u{E015}` the arrow down.
    pub(crate) async fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// What has the keyboard focus: its id, or its tag and text.
    pub(crate) async fn focused(&self) -> String {
        self.post(
            "/execute/sync",
            json!({"script": "const e = document.activeElement; return e.id || (e.tagName + ':' + (e.textContent || '').trim());", "args": []}),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Presses Tab until `target` (an id, or tag and text) has the focus;
    /// fails if it takes more than 30 presses.
    pub(crate) async fn tab_to(&self, target: &str) {
        for _ in 0..30 {
            if self.focused().await == target {
                return;
            }
            self.keys("\u{E004}").await;
        }
        panic!(
            "Tab never reaches {target} (last: {})",
            self.focused().await
        );
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    /// The text of the first element matching `css`; retried while a
    /// navigation replaces the page under the element.
    pub(crate) async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            let found = self
                .http
                .post(format!("{}/element", self.base))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap();
            if found.status().is_success() {
                let v: Value = found.json().await.unwrap();
                let e = v["value"][ELEMENT].as_str().unwrap_or_default().to_string();
                let r = self
                    .http
                    .get(format!("{}/element/{e}/text", self.base))
                    .send()
                    .await
                    .unwrap();
                if r.status().is_success() {
                    let v: Value = r.json().await.unwrap();
                    return v["value"].as_str().unwrap_or_default().to_string();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no readable element matches {css}");
    }

    /// Waits until the first element matching `css` contains `needle`: a
    /// click that submits a form returns before the next page may be there,
    /// and the old page can hold an element of the same kind.
    pub(crate) async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..150 {
            if self.count(css).await > 0 {
                last = self.text(css).await;
                if last.contains(needle) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never contained '{needle}'; last text: '{last}'");
    }

    pub(crate) async fn count(&self, css: &str) -> usize {
        self.find_all(css).await.len()
    }

    pub(crate) async fn save_screenshot(&self, file: &Path) {
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(file, png).unwrap();
    }
}

/// axe-core (the npm package, installed by `.ci/axe.sh` into
/// `~/.cache/vergleichsring-axe`, or `AXE_CORE_JS`), injected into pages
/// to check them against WCAG 2.1 A and AA (BITV 2.0).
pub(crate) fn axe_source() -> Option<String> {
    let path = std::env::var_os("AXE_CORE_JS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h).join(".cache/vergleichsring-axe/node_modules/axe-core/axe.min.js")
            })
        })?;
    std::fs::read_to_string(path).ok()
}

impl Browser {
    /// Runs axe-core on the current page and fails on any WCAG 2.1 A or AA
    /// violation, naming rule, count and the first offending element.
    pub(crate) async fn assert_accessible(&self, axe: Option<&str>, page: &str) {
        let Some(axe) = axe else {
            return;
        };
        self.post(
            "/execute/sync",
            json!({"script": format!("{axe}\nreturn 1;"), "args": []}),
        )
        .await;
        let violations = self
            .post(
                "/execute/async",
                json!({"script": "const done = arguments[arguments.length - 1];
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                       .then(r => done({passes: r.passes.length, violations: r.violations.map(v => v.id + ' (' + v.nodes.length + '): ' + v.help + ' at ' + v.nodes[0].html)}))
                       .catch(e => done({passes: 0, violations: ['axe failed: ' + e]}));", "args": []}),
            )
            .await;
        assert_eq!(
            violations["violations"],
            json!([]),
            "accessibility of {page}"
        );
        // The check ran: axe passed rules on the page (it cannot pass
        // vacuously).
        assert!(
            violations["passes"].as_u64().unwrap_or(0) > 5,
            "axe checked nothing on {page}: {violations}"
        );
    }
}

pub(crate) fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

pub(crate) fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn start_driver(path: &Path) -> Driver {
    let port = crate::helpers::free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not become ready");
}

/// A new headless Chromium session with its own profile (removed when the
/// directory is dropped).
pub(crate) async fn open_browser(driver: &Driver) -> (Browser, tempfile::TempDir) {
    let profile = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{}/session", driver.url))
        .json(&json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1200,1700",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {session}"))
        .to_string();
    let b = Browser {
        http,
        base: format!("{}/session/{sid}", driver.url),
    };
    (b, profile)
}

/// The member's 2024 library row as a German Excel export (semicolons,
/// decimal commas), with loans up by 60 % so that the year-over-year rule
/// warns.
fn library_csv(ring: &vergleichsring_synth::Generated, member_id: &str) -> String {
    let f = ring
        .figures
        .iter()
        .find(|f| f.domain == "library" && f.year == 2024)
        .unwrap();
    let batch = &f.batch;
    let ids = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let row = (0..ids.len()).find(|&i| ids.value(i) == member_id).unwrap();
    let schema = batch.schema();
    let mut header = Vec::new();
    let mut cells = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        header.push(field.name().clone());
        if i == 0 {
            cells.push(member_id.to_string());
            continue;
        }
        let col = batch
            .column(i)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        if col.is_null(row) {
            cells.push(String::new());
        } else {
            let mut v = col.value(row);
            if field.name() == "loans" {
                v = (v * 1.6).round();
            }
            cells.push(format!("{v}").replace('.', ","));
        }
    }
    format!("{}\r\n{}\r\n", header.join(";"), cells.join(";"))
}

#[tokio::test]
async fn a_member_signs_in_uploads_explains_and_reads_its_report_in_chromium() {
    let Some(driver_path) = chromedriver() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing; .ci/run installs chromium and chromium-driver"
        );
        eprintln!("SKIPPED: install chromium and chromium-driver to run the browser test");
        return;
    };
    let app = TestApp::spawn_with_policy(Policy {
        visibility: Visibility::Pseudonymous,
        ..Policy::default()
    })
    .await;
    let ring = app.load_ring(40, 2020..=2024, 11).await;
    let me = &ring.members[5];
    let token = app.token(Role::Member, Some(&me.member_id)).await;
    let upload = app.dir.path().join("bibliothek_2024.csv");
    std::fs::write(&upload, library_csv(&ring, &me.member_id)).unwrap();

    let driver = start_driver(&driver_path).await;
    let (b, _profile) = open_browser(&driver).await;
    let out = artifacts();
    let axe = axe_source();
    assert!(
        axe.is_some() || std::env::var_os("CI").is_none(),
        "axe-core is missing; .ci/run installs it with .ci/axe.sh"
    );
    let axe = axe.as_deref();

    // A wrong token is refused on the page.
    b.goto(&app.url("/web")).await;
    b.assert_accessible(axe, "the sign-in page").await;
    b.type_into("#token", "vr_wrong").await;
    b.click("button[type=submit]").await;
    b.wait_text(".error", "unbekannt").await;
    b.assert_accessible(axe, "the sign-in page with an error")
        .await;

    // Sign in.
    b.type_into("#token", &token).await;
    b.click("button[type=submit]").await;
    b.wait_text("h1", &me.name).await;
    // The session cookie is HttpOnly: page scripts cannot read it.
    let cookie_script = b
        .post(
            "/execute/sync",
            json!({"script": "return document.cookie", "args": []}),
        )
        .await;
    assert_eq!(cookie_script, json!(""));
    b.assert_accessible(axe, "the overview").await;
    if axe.is_some() {
        // The check finds what it should: an image without text.
        b.post(
            "/execute/sync",
            json!({"script": "const i = document.createElement('img'); i.src = 'data:,'; i.id = 'probe'; document.body.appendChild(i); return 1;", "args": []}),
        )
        .await;
        let found = b
            .post(
                "/execute/async",
                json!({"script": "const done = arguments[arguments.length - 1];
                    axe.run(document).then(r => done(r.violations.map(v => v.id)));", "args": []}),
            )
            .await;
        assert!(
            found.as_array().unwrap().iter().any(|v| v == "image-alt"),
            "{found}"
        );
        b.post(
            "/execute/sync",
            json!({"script": "document.getElementById('probe').remove(); return 1;", "args": []}),
        )
        .await;
    }
    b.save_screenshot(&out.join("upload_page.png")).await;

    // Upload the CSV for library 2024.
    b.click("#domain option[value=library]").await;
    b.click("#year option[value='2024']").await;
    b.type_into("#file", &upload.display().to_string()).await;
    b.click("#hochladen button[type=submit]").await;
    b.wait_text("h1", "Gespeichert").await;
    let warnings = b.count("tr.warning").await;
    assert!(warnings >= 1, "no warning shown");
    let table = b.text("#hinweise table").await;
    assert!(table.contains("loans"), "{table}");
    b.assert_accessible(axe, "the upload result").await;
    b.save_screenshot(&out.join("upload_result.png")).await;

    // Explain the loans warning.
    let rows = b.find_all("tr.warning").await;
    let mut explained = false;
    for row in rows {
        let text = b.get(&format!("/element/{row}/text")).await;
        if text.as_str().unwrap_or("").contains("loans") {
            let area = b
                .post(
                    &format!("/element/{row}/element"),
                    json!({"using": "css selector", "value": "textarea"}),
                )
                .await[ELEMENT]
                .as_str()
                .unwrap()
                .to_string();
            b.post(
                &format!("/element/{area}/value"),
                json!({"text": "Neue Zweigstelle seit März"}),
            )
            .await;
            let button = b
                .post(
                    &format!("/element/{row}/element"),
                    json!({"using": "css selector", "value": "button"}),
                )
                .await[ELEMENT]
                .as_str()
                .unwrap()
                .to_string();
            b.post(&format!("/element/{button}/click"), json!({})).await;
            explained = true;
            break;
        }
    }
    assert!(explained);
    b.wait_text("[role=status]", "Erklärung wurde gespeichert")
        .await;
    let stored = app
        .get(
            "/api/v1/warnings?status=all&domain=library&year=2024",
            Some(&token),
        )
        .await;
    assert!(
        stored
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "yoy_loans"
                && w["explanation"]["text"] == "Neue Zweigstelle seit März"),
        "{}",
        stored.text
    );

    // The report: charts drawn with the right number of bars and points.
    let report = app
        .get(
            &format!("/api/v1/reports/{}/2024", me.member_id),
            Some(&token),
        )
        .await
        .body;
    b.goto(&app.url("/web/bericht/2024")).await;
    b.wait_text("h1", &me.name).await;
    b.assert_accessible(axe, "the report").await;
    let library = report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == "library")
        .unwrap();
    let figures = &library["key_figures"];
    let first = &figures[0];
    let chart = format!("#f-library-{}", first["id"].as_str().unwrap());
    let bars = first["size_class"]["distribution"]
        .as_array()
        .expect("pseudonymous mode releases the distribution")
        .len();
    assert!(bars >= 5);
    assert_eq!(b.count(&format!("{chart}-bars rect.bar")).await, bars);
    assert_eq!(b.count(&format!("{chart}-bars rect.bar.own")).await, 1);
    let points = first["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["own"].is_number())
        .count();
    assert_eq!(points, 5);
    assert_eq!(
        b.count(&format!("{chart}-line circle.point.own")).await,
        points
    );
    let medians = first["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["stats"]["median"].is_number())
        .count();
    assert_eq!(
        b.count(&format!("{chart}-line rect.point.median")).await,
        medians
    );
    // The browser laid the charts out: they have a size on the page.
    let svg = b.find(&format!("{chart}-band")).await;
    let rect = b.get(&format!("/element/{svg}/rect")).await;
    assert!(rect["width"].as_f64().unwrap() > 300.0, "{rect}");
    assert!(rect["height"].as_f64().unwrap() > 80.0, "{rect}");
    let charts: usize = report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["key_figures"].as_array().unwrap())
        .map(|k| {
            2 + usize::from(k["size_class"]["distribution"].is_array() && k["own"].is_number())
        })
        .sum();
    assert_eq!(b.count("svg.chart").await, charts);
    b.save_screenshot(&out.join("report.png")).await;

    // Print to PDF on A4 (21 × 29.7 cm).
    let pdf = b
        .post(
            "/print",
            json!({"page": {"width": 21.0, "height": 29.7}, "background": true}),
        )
        .await;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(pdf.as_str().unwrap_or_default())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    let pages = pdf.windows(10).filter(|w| w == b"/Type /Pag").count();
    assert!(pages >= 4, "only {pages} pages");
    std::fs::write(out.join("report.pdf"), &pdf).unwrap();

    // Signing out ends the session.
    b.goto(&app.url("/web")).await;
    b.click("header form button").await;
    b.wait_text("h1", "Anmelden").await;
    b.goto(&app.url("/web/bericht/2024")).await;
    b.wait_text(".error", "nicht (mehr) angemeldet").await;
    b.assert_accessible(axe, "an error page").await;

    // A person invited as lead member: the invitation page, the overview
    // with the account's links, colleagues, personal tokens and the
    // second factor, all accessible.
    let invited = app
        .post_json(
            "/api/v1/users",
            Some(&app.admin),
            &json!({"email": "lea@ring.example", "name": "Lea Lead", "role": "member", "member_id": me.member_id, "lead": true}),
        )
        .await;
    let link = invited.body["invitation_path"]
        .as_str()
        .unwrap()
        .to_string();
    b.goto(&app.url(&link)).await;
    b.wait_text("h1", "Einladung annehmen").await;
    b.assert_accessible(axe, "the invitation page").await;
    b.type_into("#password", "ein langes Passwort").await;
    b.type_into("#password2", "ein langes Passwort").await;
    b.click("button[type=submit]").await;
    b.wait_text("h1", &me.name).await;
    b.assert_accessible(axe, "the overview of an account").await;
    for (path, heading) in [
        ("/web/kollegen", "Kolleginnen und Kollegen"),
        ("/web/schluessel", "Persönliche Zugangsschlüssel"),
        ("/web/zweiter-faktor", "Zweiter Faktor einrichten"),
    ] {
        b.goto(&app.url(path)).await;
        b.wait_text("h1", heading).await;
        b.assert_accessible(axe, path).await;
    }
    b.save_screenshot(&out.join("second_factor.png")).await;

    // Keyboard only: sign out, sign in and upload without the mouse.
    b.goto(&app.url("/web")).await;
    b.wait_text("h1", &me.name).await;
    b.tab_to("BUTTON:Abmelden").await;
    b.keys("\u{E007}").await;
    b.wait_text("h1", "Anmelden").await;
    b.tab_to("email").await;
    b.keys("lea@ring.example").await;
    b.tab_to("password").await;
    b.keys("ein langes Passwort\u{E007}").await;
    b.wait_text("h1", &me.name).await;
    b.tab_to("domain").await;
    // The library is the second domain (after the Volkshochschule).
    b.keys("\u{E015}").await;
    b.tab_to("year").await;
    let latest = b
        .post(
            "/execute/sync",
            json!({"script": "return document.getElementById('year').value", "args": []}),
        )
        .await;
    b.keys("\u{E015}").await;
    let chosen = b
        .post(
            "/execute/sync",
            json!({"script": "return document.getElementById('year').value", "args": []}),
        )
        .await;
    assert_ne!(chosen, latest, "the arrow key chooses the year before");
    b.tab_to("file").await;
    // Choosing the file is the one step a keyboard hands to the system
    // dialog; WebDriver types its path into the focused input instead.
    let active = b.get("/element/active").await[ELEMENT]
        .as_str()
        .unwrap()
        .to_string();
    b.post(
        &format!("/element/{active}/value"),
        json!({"text": upload.display().to_string()}),
    )
    .await;
    b.tab_to("BUTTON:Hochladen und prüfen").await;
    b.keys("\u{E007}").await;
    b.wait_text("h1", "Gespeichert").await;

    let _ = b.call(reqwest::Method::DELETE, "", None).await;
}

/// The value of a form field on the current page.
pub(crate) async fn field_value(b: &Browser, css: &str) -> String {
    b.post(
        "/execute/sync",
        json!({"script": "return document.querySelector(arguments[0]).value", "args": [css]}),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Accepts an invitation at `link` with `password` in the browser.
pub(crate) async fn accept_invitation(b: &Browser, link: &str, password: &str) {
    b.goto(link).await;
    b.wait_text("h1", "Einladung annehmen").await;
    b.type_into("#password", password).await;
    b.type_into("#password2", password).await;
    b.click("form[action^='/web/einladung'] button[type=submit]")
        .await;
}

/// Enrols the second factor with the secret the page shows; the secret.
pub(crate) async fn enrol_second_factor(b: &Browser, base: &str) -> String {
    b.goto(&format!("{base}/web/zweiter-faktor")).await;
    b.wait_text("h1", "Zweiter Faktor einrichten").await;
    let secret = field_value(b, "input[name=secret]").await;
    b.type_into("#code", &crate::web::code_now(&secret)).await;
    b.click("main button[type=submit]").await;
    b.wait_text("h1", "Zweiter Faktor eingerichtet").await;
    secret
}

/// Issue 17's acceptance path, in Chromium against the real `serve` binary
/// with a real mail server and a real OpenID Connect provider: admin
/// invites a member user by e-mail; she opens the mailed link, sets her
/// password, enrols the second factor, signs out, signs in with password
/// and code, and uploads. Then she signs in through the provider. The
/// first admin is made on the command line, must enrol its second factor
/// before anything else, and lists the member's users. Every page of ours
/// passes axe-core.
#[tokio::test]
async fn people_sign_in_by_mail_password_totp_and_provider_in_chromium() {
    use crate::people;
    let Some(driver_path) = chromedriver() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing; .ci/run installs chromium and chromium-driver"
        );
        eprintln!("SKIPPED: install chromium and chromium-driver to run the browser test");
        return;
    };
    let mailer = people::mail_server();
    let port = crate::helpers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let idp = people::provider(
        &base,
        &json!([{"sub": "portal-bea", "email": "bea@musterstadt.de", "name": "Bea Bibliothek"}]),
    );
    let ring = people::ring(&mailer, Some(&idp), port).await;
    let upload = ring._dir.path().join("bibliothek_2024.parquet");
    std::fs::write(
        &upload,
        crate::helpers::library_file(Some("05001000"), 60_000.0, 1.0),
    )
    .unwrap();
    let driver = start_driver(&driver_path).await;
    let (b, _profile) = open_browser(&driver).await;
    let out = artifacts();
    let axe = axe_source();
    assert!(
        axe.is_some() || std::env::var_os("CI").is_none(),
        "axe-core is missing; .ci/run installs it with .ci/axe.sh"
    );
    let axe = axe.as_deref();

    // The invitation arrives by e-mail.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&ring.admin)
        .json(&json!({"email": "bea@musterstadt.de", "name": "Bea Bibliothek", "role": "member", "member_id": "05001000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let (_, _, text) = people::mail(&mailer, 1).await;
    let link = people::link_in(&text, &base);

    // Accept: set the password.
    b.goto(&link).await;
    b.wait_text("h1", "Einladung annehmen").await;
    b.assert_accessible(axe, "the invitation page with single sign-on")
        .await;
    accept_invitation(&b, &link, "Bücherei und Bildung").await;
    b.wait_text("h1", "Stadt Musterstadt").await;

    // Enrol the second factor with the secret the page shows.
    let secret = enrol_second_factor(&b, &base).await;
    b.assert_accessible(axe, "the recovery codes").await;
    // The ring's key sealed the secret: the lake never holds it in the
    // clear.
    let mut log = String::new();
    for e in std::fs::read_dir(ring._dir.path().join("lake/_state/log")).unwrap() {
        log.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(log.contains("sealed:v1:") && !log.contains(&secret));

    // Sign out; sign in with password, then the code.
    b.click("header form button").await;
    b.wait_text("h1", "Anmelden").await;
    b.save_screenshot(&out.join("sign_in.png")).await;
    b.type_into("#email", "bea@musterstadt.de").await;
    b.type_into("#password", "Bücherei und Bildung").await;
    b.click("form[action='/web/anmelden'] button[type=submit]")
        .await;
    b.wait_text("h1", "Bestätigungscode").await;
    b.assert_accessible(axe, "the code form").await;
    // A code works once per step: wait for the next one if the enrolment
    // used this step's.
    tokio::time::sleep(Duration::from_secs(
        30 - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            % 30,
    ))
    .await;
    b.type_into("#code", &crate::web::code_now(&secret)).await;
    b.click("main button[type=submit]").await;
    b.wait_text("h1", "Stadt Musterstadt").await;

    // Upload (the library file: the first domain is another).
    b.click("#domain option[value=library]").await;
    let file = b.find("#file").await;
    b.post(
        &format!("/element/{file}/value"),
        json!({"text": upload.display().to_string()}),
    )
    .await;
    b.click("form[action='/web/hochladen'] button[type=submit]")
        .await;
    b.wait_text("h1", "Gespeichert").await;

    // The forgotten-password form.
    b.click("header form button").await;
    b.wait_text("h1", "Anmelden").await;
    b.click("a[href='/web/passwort-vergessen']").await;
    b.wait_text("h1", "Passwort vergessen").await;
    b.assert_accessible(axe, "the forgotten-password form")
        .await;

    // The page explaining the noise flags (rule 17), for everyone.
    b.goto(&format!("{base}/web/geheimhaltung")).await;
    b.wait_text("h1", "Geheimhaltung und Unschärfe").await;
    b.assert_accessible(axe, "the disclosure page").await;

    // Through the provider: its form, then back to the overview (with the
    // second factor, which the account has).
    b.goto(&format!("{base}/web")).await;
    b.wait_text("h1", "Anmelden").await;
    b.click("a[href='/web/anmelden/sso']").await;
    b.wait_text("label[for=login]", "E-Mail-Adresse").await;
    b.type_into("#login", "bea@musterstadt.de").await;
    b.click("button[type=submit]").await;
    b.wait_text("h1", "Bestätigungscode").await;
    b.type_into("#code", &crate::web::code_now(&secret)).await;
    b.click("main button[type=submit]").await;
    let wrong = b.text("h1").await;
    if wrong.contains("Bestätigungscode") {
        // The code of this step was used at the password sign-in; the
        // next step's works.
        tokio::time::sleep(Duration::from_secs(31)).await;
        b.type_into("#code", &crate::web::code_now(&secret)).await;
        b.click("main button[type=submit]").await;
    }
    b.wait_text("h1", "Stadt Musterstadt").await;
    b.click("header form button").await;
    b.wait_text("h1", "Anmelden").await;

    // The first admin, invited on the command line: the second factor
    // comes first, then the user list.
    let made = Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args([
            "user",
            "create-admin",
            "--data-dir",
            ring._dir.path().to_str().unwrap(),
            "--email",
            "betrieb@ring.example",
            "--name",
            "Olaf Betrieb",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let path = String::from_utf8(made.stdout).unwrap().trim().to_string();
    accept_invitation(&b, &format!("{base}{path}"), "Betrieb mit Sorgfalt").await;
    b.wait_text("h1", "Zweiter Faktor einrichten").await;
    b.goto(&format!("{base}/web/benutzer")).await;
    b.wait_text(".error", "zweiter Faktor").await;
    enrol_second_factor(&b, &base).await;
    b.goto(&format!("{base}/web")).await;
    b.wait_text("h1", "Olaf Betrieb").await;
    b.assert_accessible(axe, "an admin's overview").await;
    b.goto(&format!("{base}/web/benutzer?mitglied=05001000"))
        .await;
    b.wait_text("h1", "Benutzer").await;
    b.wait_text("table", "bea@musterstadt.de").await;
    b.assert_accessible(axe, "the admin's user list").await;
    b.save_screenshot(&out.join("users.png")).await;

    // The only admin lost its device: the command line removes the second
    // factor, the session ends (the service follows the state log), and
    // the next sign-in enrols a new one.
    let reset = Command::new(env!("CARGO_BIN_EXE_vergleichsring"))
        .args([
            "user",
            "reset-second-factor",
            "--data-dir",
            ring._dir.path().to_str().unwrap(),
            "--email",
            "Betrieb@Ring.example",
        ])
        .output()
        .unwrap();
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let mut ended = false;
    for _ in 0..50 {
        b.goto(&format!("{base}/web/benutzer")).await;
        if b.count(".error").await > 0 && b.text(".error").await.contains("nicht (mehr) angemeldet")
        {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the admin's session outlived the reset");
    b.goto(&format!("{base}/web")).await;
    b.type_into("#email", "betrieb@ring.example").await;
    b.type_into("#password", "Betrieb mit Sorgfalt").await;
    b.click("form[action='/web/anmelden'] button[type=submit]")
        .await;
    b.wait_text("h1", "Zweiter Faktor einrichten").await;

    let _ = b.call(reqwest::Method::DELETE, "", None).await;
}
