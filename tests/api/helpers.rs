//! `TestApp`: a running server over a temporary data directory, with one
//! method per endpoint, and builders for Parquet uploads.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_engine::Engine;
use vergleichsring_engine::disclosure::Policy;
use vergleichsring_engine::noise::Noise;
use vergleichsring_server::{AppState, HttpConfig};
use vergleichsring_store::{Role, Store};

pub const PARQUET: &str = "application/vnd.apache.parquet";

pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub admin: String,
    pub analyst: String,
    policy: Policy,
    upload_timeout: Duration,
    server: Running,
}

/// The server under test: in this process, or the real binary (kept
/// only to stop it when the app is dropped).
enum Running {
    InProcess(tokio::task::JoinHandle<()>),
    Binary(#[allow(dead_code)] crate::operations::Served),
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

/// Workers as `serve` starts them: this package's binary.
pub fn worker_config() -> vergleichsring_engine::worker::WorkerConfig {
    vergleichsring_engine::worker::WorkerConfig {
        program: env!("CARGO_BIN_EXE_vergleichsring").into(),
        size: 2,
        memory_mib: 2048,
        jobs_per_worker: 100,
        job_seconds: 60,
    }
}

async fn start(
    dir: &Path,
    policy: Policy,
    upload_timeout: Duration,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let store = Arc::new(Store::open(dir).await.expect("open store"));
    let engine = Arc::new(
        Engine::new(store.clone(), policy)
            .await
            .expect("engine")
            .with_limits(vergleichsring_ingest::Limits::default(), upload_timeout)
            .with_workers(worker_config()),
    );
    let state = AppState::new(
        engine,
        store,
        HttpConfig {
            max_body_bytes: 2 * 1024 * 1024,
            ..HttpConfig::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        vergleichsring_server::serve(listener, state).await.unwrap();
    });
    (addr, server)
}

impl TestApp {
    /// A fresh, initialised data directory and a running server.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like `spawn`, with a hook that may change the data directory (e.g. its
    /// catalogue) before the server starts.
    pub async fn spawn_with(prepare: impl FnOnce(&Path)) -> TestApp {
        Self::spawn_full(prepare, Policy::default()).await
    }

    /// A server with a ring policy of its own (e.g. another visibility mode).
    pub async fn spawn_with_policy(policy: Policy) -> TestApp {
        Self::spawn_full(|_| {}, policy).await
    }

    /// A server of a ring that perturbs nothing (`noise_min = noise_max =
    /// 0`): for the tests of rules 1–12 on exact values, which still hold
    /// as the second line of defence.
    pub async fn spawn_exact() -> TestApp {
        Self::spawn_with_policy(exact_policy()).await
    }

    /// The ring's multipliers, as the library API gives them from the
    /// data directory (never over HTTP): non-admin numbers are tested
    /// against an independent computation from the same multipliers.
    pub async fn noise(&self) -> Multipliers {
        let store = Store::open(self.dir.path()).await.unwrap();
        Multipliers {
            noise: Noise::new(
                store.noise_secret().await.unwrap(),
                self.policy.noise_min,
                self.policy.noise_max,
            ),
            catalog: store.catalog().clone(),
        }
    }

    /// A server whose ring has a known noise secret, so that its
    /// perturbed answers are the same in every run (golden files).
    pub async fn spawn_with_noise_secret(secret: [u8; 32]) -> TestApp {
        Self::spawn_full(
            |dir| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let dir = dir.to_path_buf();
                std::thread::spawn(move || {
                    rt.block_on(async {
                        let store = Store::open(&dir).await.unwrap();
                        assert!(store.adopt_noise_secret(secret).await.unwrap());
                    })
                })
                .join()
                .unwrap();
            },
            Policy::default(),
        )
        .await
    }

    async fn spawn_full(prepare: impl FnOnce(&Path), policy: Policy) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        prepare(dir.path());
        let admin = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
            .await
            .unwrap()
            .0;
        let analyst = Store::create_token(dir.path(), Role::Analyst, None, None, vec![])
            .await
            .unwrap()
            .0;
        let upload_timeout = Duration::from_secs(60);
        let (addr, server) = start(dir.path(), policy, upload_timeout).await;
        TestApp {
            dir,
            addr,
            client: reqwest::Client::new(),
            admin,
            analyst,
            policy,
            upload_timeout,
            server: Running::InProcess(server),
        }
    }

    /// The real `serve` binary over a fresh data directory, configured
    /// with `public_url` and the TOML in `config`, with `env` (secrets) in
    /// its environment: for the tests that must pass through the process
    /// as a ring runs it. It cannot be restarted.
    pub async fn spawn_binary(config: &str, env: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let admin = Store::create_token(dir.path(), Role::Admin, None, None, vec![])
            .await
            .unwrap()
            .0;
        let analyst = Store::create_token(dir.path(), Role::Analyst, None, None, vec![])
            .await
            .unwrap()
            .0;
        let port = free_port();
        let file = dir.path().join("ring.toml");
        std::fs::write(
            &file,
            format!("public_url = \"http://127.0.0.1:{port}\"\n{config}"),
        )
        .unwrap();
        let listen = format!("127.0.0.1:{port}");
        let served = crate::operations::serve_binary(
            &[
                "--config",
                file.to_str().unwrap(),
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--listen",
                &listen,
            ],
            env,
            port,
        )
        .await;
        TestApp {
            addr: served.addr.parse().unwrap(),
            dir,
            client: reqwest::Client::new(),
            admin,
            analyst,
            policy: Policy::default(),
            upload_timeout: Duration::from_secs(60),
            server: Running::Binary(served),
        }
    }

    /// A server whose uploads may take at most `upload_timeout` to check.
    pub async fn spawn_with_upload_timeout(upload_timeout: Duration) -> TestApp {
        let mut app = Self::spawn().await;
        app.upload_timeout = upload_timeout;
        app.restart().await;
        app
    }

    /// Restarts the server under other disclosure settings (the ring
    /// changed its configuration).
    pub async fn restart_with_policy(&mut self, policy: Policy) {
        self.policy = policy;
        self.restart().await;
    }

    /// Stops the server and starts a new one over the same data directory.
    pub async fn restart(&mut self) {
        let Running::InProcess(server) = &mut self.server else {
            panic!("only the in-process server restarts");
        };
        server.abort();
        let _ = server.await;
        let (addr, server) = start(self.dir.path(), self.policy, self.upload_timeout).await;
        self.addr = addr;
        self.server = Running::InProcess(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn token(&self, role: Role, member_id: Option<&str>) -> String {
        Store::create_token(
            self.dir.path(),
            role,
            member_id.map(str::to_string),
            (role == Role::Consultant).then(|| "c1".to_string()),
            vec![],
        )
        .await
        .unwrap()
        .0
    }

    /// A consultant token for consultant `id`, granted by `grants`.
    pub async fn consultant(&self, id: &str, grants: &[&str]) -> String {
        Store::create_token(
            self.dir.path(),
            Role::Consultant,
            None,
            Some(id.to_string()),
            grants.iter().map(|g| g.to_string()).collect(),
        )
        .await
        .unwrap()
        .0
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    /// Uploads library figures for many members at once (admin bulk), each
    /// a town of `population` with loans scaled by its factor.
    pub async fn library_bulk(&self, year: i32, rows: &[(&str, f64, f64)]) {
        let a = self
            .upload(
                "library",
                year,
                &self.admin,
                PARQUET,
                library_bulk_file(rows),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body, text }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn get_accept(&self, path: &str, token: &str, accept: &str) -> Answer {
        let req = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .header("Accept", accept);
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut req = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn upload(
        &self,
        domain: &str,
        year: i32,
        token: &str,
        content_type: &str,
        body: Bytes,
    ) -> Answer {
        let req = self
            .client
            .post(self.url(&format!("/api/v1/submissions/{domain}/{year}")))
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(body);
        Self::answer(req.send().await.unwrap()).await
    }

    /// Registers `n` cities (ids `05001000`, `05002000`, …, name "Stadt")
    /// and uploads their library figures for 2024 as admin: population
    /// 120,000 each, member i with scale `1 + i / spread`. Returns the ids.
    pub async fn city_ring(&self, n: usize, spread: f64) -> Vec<String> {
        let ids: Vec<String> = (1..=n).map(|i| format!("05{i:03}000")).collect();
        let members: Vec<(&str, &str, &str)> = ids
            .iter()
            .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
            .collect();
        self.register(&members).await;
        let rows: Vec<(&str, f64, f64)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), 120_000.0, 1.0 + i as f64 / spread))
            .collect();
        self.library_bulk(2024, &rows).await;
        ids
    }

    /// Freezes a (domain, year) as admin (`POST /api/v1/releases/...`).
    pub async fn freeze(&self, domain: &str, year: i32) -> Answer {
        self.post_json(
            &format!("/api/v1/releases/{domain}/{year}"),
            Some(&self.admin),
            &json!({}),
        )
        .await
    }

    /// Registers members given as (id, name, kind).
    pub async fn register(&self, members: &[(&str, &str, &str)]) {
        let body: Vec<Value> = members
            .iter()
            .map(|(id, name, kind)| json!({"member_id": id, "name": name, "kind": kind}))
            .collect();
        let a = self
            .post_json("/api/v1/members", Some(&self.admin), &json!(body))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }

    /// Registers the generated ring and uploads all its figures as admin.
    pub async fn load_ring(
        &self,
        members: usize,
        years: std::ops::RangeInclusive<i32>,
        seed: u64,
    ) -> vergleichsring_synth::Generated {
        let g = vergleichsring_synth::generate(members, years, seed).unwrap();
        let body: Vec<Value> = g
            .members
            .iter()
            .map(|m| {
                json!({"member_id": m.member_id, "name": m.name, "kind": m.kind.as_str(),
                    "structure": {"area_km2": m.area_km2, "degurba": m.degurba}})
            })
            .collect();
        let a = self
            .post_json("/api/v1/members", Some(&self.admin), &json!(body))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        for f in &g.figures {
            let bytes = vergleichsring_synth::to_parquet_bytes(&f.batch).unwrap();
            let a = self
                .upload(&f.domain, f.year, &self.admin, PARQUET, bytes)
                .await;
            assert_eq!(
                a.status,
                StatusCode::CREATED,
                "{} {}: {}",
                f.domain,
                f.year,
                a.text
            );
        }
        g
    }

    /// The domain's current data version as the API reports it.
    pub async fn data_version(&self, domain: &str, year: i32) -> String {
        let a = self
            .get(
                &format!(
                    "/api/v1/comparisons/{domain}/{year}?figure={}&group_by=all",
                    first_key_figure(domain)
                ),
                Some(&self.admin),
            )
            .await;
        a.body["data_version"].as_str().unwrap_or("").to_string()
    }
}

pub fn first_key_figure(domain: &str) -> &'static str {
    match domain {
        "library" => "media_per_capita",
        "museum" => "visits_per_1000",
        "music_school" => "students_per_1000",
        _ => "x",
    }
}

/// A column of an upload: a name and nullable numbers.
/// Library figures of many members in one Parquet file: (member id,
/// population, scale of loans).
pub fn library_bulk_file(rows: &[(&str, f64, f64)]) -> Bytes {
    let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let template = library_row(1.0, 1.0);
    let cols: Vec<(String, Vec<Option<f64>>)> = template
        .iter()
        .map(|(name, _)| {
            let values = rows
                .iter()
                .map(|(_, pop, scale)| {
                    library_row(*pop, *scale)
                        .into_iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v)
                })
                .collect();
            (name.to_string(), values)
        })
        .collect();
    let cols: Vec<Col<'_>> = cols.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    parquet(Some(ids), &cols)
}

pub type Col<'a> = (&'a str, Vec<Option<f64>>);

/// A Parquet file with an optional member_id column and numeric columns.
pub fn parquet(member_ids: Option<Vec<&str>>, cols: &[Col<'_>]) -> Bytes {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    if let Some(ids) = member_ids {
        fields.push(Field::new("member_id", DataType::Utf8, true));
        arrays.push(Arc::new(StringArray::from(ids)));
    }
    for (name, values) in cols {
        fields.push(Field::new(*name, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(values.clone())));
    }
    batch_bytes(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap())
}

pub fn batch_bytes(batch: RecordBatch) -> Bytes {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    Bytes::from(buf)
}

/// A valid library row's required figures for a town of `population`.
pub fn library_row(population: f64, scale: f64) -> Vec<(&'static str, f64)> {
    vec![
        ("population", population),
        ("service_points", 2.0),
        ("opening_hours", 4000.0),
        ("visits", population * 1.5 * scale),
        ("stock", population * 1.2),
        ("loans", population * 4.0 * scale),
        ("staff_fte", population / 5000.0),
        ("expenditure_total", population * 20.0 * scale),
    ]
}

/// One library row as a Parquet file, for member tokens (no member_id column).
pub fn library_file(member_id: Option<&str>, population: f64, scale: f64) -> Bytes {
    let row = library_row(population, scale);
    let cols: Vec<Col<'_>> = row.iter().map(|(n, v)| (*n, vec![Some(*v)])).collect();
    parquet(member_id.map(|m| vec![m]), &cols)
}

/// Every leaf value (number, string, bool) of a JSON document, depth first.
pub fn leaves(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().flat_map(leaves).collect(),
        Value::Object(o) => o.values().flat_map(leaves).collect(),
        Value::Null => Vec::new(),
        leaf => vec![leaf],
    }
}

/// The default policy without perturbation (rules 1–12 on true values).
pub fn exact_policy() -> Policy {
    Policy {
        noise_min: 0.0,
        noise_max: 0.0,
        ..Policy::default()
    }
}

/// A ring's multipliers with the catalogue of its data directory.
pub struct Multipliers {
    pub noise: Noise,
    pub catalog: vergleichsring_catalog::Catalog,
}

/// The multiplier of one basic figure of a member, by figure id.
pub fn multiplier(m: &Multipliers, domain: &str, member_id: &str, figure: &str) -> f64 {
    let d = m.catalog.domain(domain).unwrap();
    let f = d.basic_figures.iter().position(|b| b.id == figure).unwrap();
    m.noise.multiplier(d, f, member_id)
}

/// The quintile (1 = best fifth) of `own` among `values` (which hold it),
/// higher values better, written from the definition: the rank counts the
/// strictly better values plus one, and the n ranks split into five equal
/// parts.
pub fn quintile_higher_better(values: &[f64], own: f64) -> u64 {
    let rank = values.iter().filter(|v| **v > own).count() + 1;
    let n = values.len();
    (((rank - 1) * 5) / n + 1) as u64
}

/// A port free at this moment on 127.0.0.1, for a process the test starts
/// itself (the real binary, a mail server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
