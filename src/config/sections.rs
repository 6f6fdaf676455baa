//! The sections of the configuration file: `[lake]`, `[mail]`, `[oidc]`,
//! `[limits]` and `[log]`, each with its defaults. (`[disclosure]` is the
//! engine's `Policy`, `[server]` is in `server.rs`.)

use std::path::PathBuf;

use anyhow::{Context, bail};

use serde::{Deserialize, Serialize};

use super::Secret;

/// `[lake]`: the Delta tables on the local disk or on S3-compatible object
/// storage.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lake {
    /// `s3://bucket/prefix` for object storage; unset for `DATA_DIR/lake`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The S3 endpoint, e.g. `http://127.0.0.1:9000` (unset for AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The S3 region.
    pub region: String,
    /// Access key id (else `AWS_ACCESS_KEY_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key (else `AWS_SECRET_ACCESS_KEY`); masked by `config check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// Allow plain HTTP to the endpoint (a server on loopback).
    pub allow_http: bool,
    /// How often, in milliseconds, the service looks for commits made by
    /// other processes on the same lake (replicas).
    pub refresh_millis: u64,
}

impl Lake {
    /// Checks the lake's URL and endpoint.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.url {
            let parsed = url::Url::parse(url)
                .with_context(|| format!("configuration: lake.url '{url}' is not a URL"))?;
            if parsed.scheme() != "s3" && parsed.scheme() != "file" {
                bail!(
                    "configuration: lake.url '{url}' must start with s3:// (object storage) or file://"
                );
            }
        }
        if let Some(endpoint) = &self.endpoint {
            url::Url::parse(endpoint).with_context(|| {
                format!("configuration: lake.endpoint '{endpoint}' is not a URL")
            })?;
        }
        Ok(())
    }
}

impl Default for Lake {
    fn default() -> Self {
        Lake {
            url: None,
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            refresh_millis: 1000,
        }
    }
}

/// `[mail]`: the SMTP server invitations and password-reset links go out
/// through. Unset `smtp_host`: no e-mail (links are shown to the inviter).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    /// Host name of the SMTP server (the name its certificate bears).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    /// Port: 587 (submission with STARTTLS).
    pub smtp_port: u16,
    /// Require STARTTLS; `false` only for a relay on loopback.
    pub starttls: bool,
    /// The sender, e.g. `Vergleichsring <ring@example.de>`.
    pub from: String,
    /// User name for `AUTH` (else none); better from
    /// `VERGLEICHSRING_MAIL_USERNAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for `AUTH`; better from `VERGLEICHSRING_MAIL_PASSWORD`;
    /// masked by `config check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A PEM file of certificates to trust beside the system's (a
    /// private CA of the municipal data centre).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Seconds one delivery may take.
    pub timeout_seconds: u64,
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            smtp_host: None,
            smtp_port: 587,
            starttls: true,
            from: "Vergleichsring <vergleichsring@localhost>".into(),
            username: None,
            password: None,
            ca_file: None,
            timeout_seconds: 20,
        }
    }
}

/// `[oidc]`: sign-in through the municipalities' identity provider
/// (OpenID Connect, authorisation code flow with PKCE). Unset `issuer`: no
/// single sign-on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Oidc {
    /// The issuer URL; its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// This service's client id at the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client secret; better from `VERGLEICHSRING_OIDC_CLIENT_SECRET`;
    /// masked by `config check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// The text of the sign-in button.
    pub label: String,
    /// Link a person whose account is not linked yet by the provider's
    /// verified e-mail address; `false`: only through an invitation link.
    pub link_by_email: bool,
    /// Seconds one request to the provider may take.
    pub timeout_seconds: u64,
}

impl Default for Oidc {
    fn default() -> Self {
        Oidc {
            issuer: None,
            client_id: None,
            client_secret: None,
            label: "Über das Konto Ihrer Kommune anmelden".into(),
            link_by_email: true,
            timeout_seconds: 10,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest upload body in bytes.
    pub max_body_bytes: usize,
    /// Rows per upload.
    pub max_rows: usize,
    /// Bytes an upload may unpack to (Parquet pages, XLSX entries).
    pub max_uncompressed_bytes: u64,
    /// Seconds checking one upload may take.
    pub upload_seconds: u64,
    /// Memory one DataFusion query may use, in MiB.
    pub memory_limit_mib: usize,
    /// Columns per upload.
    pub max_columns: usize,
    /// Uploads one token may make a minute (admin: no limit); 0: no limit.
    pub uploads_per_minute: u32,
    /// Analysts' queries one token may send a minute; 0: no limit.
    pub queries_per_minute: u32,
    /// Analysts' queries running at once.
    pub concurrent_queries: usize,
    /// Worker processes that decode uploads and run analysts' SQL.
    pub workers: usize,
    /// Address space of one worker process, in MiB.
    pub worker_memory_mib: u64,
    /// The engine's memory cache (years of figures, ledger entries,
    /// publication masks), in MiB.
    pub cache_mib: usize,
    /// Personal tokens one account may hold at once.
    pub personal_tokens: usize,
    /// A member's accounts taken up plus its leads' invitations of the
    /// last 7 days, the most its leads may reach by inviting colleagues.
    pub member_accounts: usize,
    /// Memory all password checks at once may take, in MiB: each argon2id
    /// check takes 19 MiB, so this allows this divided by 19 at once; more
    /// sign-ins at the same moment are answered 503.
    pub password_check_mib: u64,
    /// Hours within which a member is not reminded twice of one collection.
    pub reminder_hours: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let ingest = vergleichsring_ingest::Limits::default();
        let http = vergleichsring_server::HttpConfig::default();
        Limits {
            max_body_bytes: 20 * 1024 * 1024,
            max_rows: ingest.max_rows,
            max_uncompressed_bytes: ingest.max_uncompressed_bytes,
            upload_seconds: 60,
            memory_limit_mib: vergleichsring_engine::session::MEMORY_LIMIT / (1024 * 1024),
            max_columns: ingest.max_columns,
            uploads_per_minute: http.uploads_per_minute,
            queries_per_minute: http.queries_per_minute,
            concurrent_queries: http.concurrent_queries,
            workers: 2,
            worker_memory_mib: 2048,
            cache_mib: vergleichsring_engine::DEFAULT_CACHE_BYTES >> 20,
            personal_tokens: vergleichsring_store::AccountLimits::default().personal_tokens,
            member_accounts: vergleichsring_store::AccountLimits::default().member_accounts,
            password_check_mib: http.sign_ins.password_check_mib,
            reminder_hours: http.reminder_interval.as_secs() / 3600,
        }
    }
}

impl Limits {
    /// Checks the limits deserialising cannot: minimums and positives.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.worker_memory_mib < 512 {
            bail!(
                "configuration: limits.worker_memory_mib = {} is below the minimum of 512 (the worker's own program takes a few hundred MiB of address space)",
                self.worker_memory_mib
            );
        }
        if self.memory_limit_mib < 16 {
            bail!(
                "configuration: limits.memory_limit_mib = {} is below the minimum of 16",
                self.memory_limit_mib
            );
        }
        if self.max_body_bytes == 0
            || self.max_rows == 0
            || self.max_columns == 0
            || self.concurrent_queries == 0
            || self.cache_mib == 0
            || self.workers == 0
            || self.personal_tokens == 0
            || self.member_accounts == 0
        {
            bail!(
                "configuration: limits.max_body_bytes, limits.max_rows, limits.max_columns, limits.concurrent_queries, limits.workers, limits.cache_mib, limits.personal_tokens and limits.member_accounts must be positive"
            );
        }
        let argon2 = vergleichsring_server::throttle::ARGON2_MIB;
        if self.password_check_mib < argon2 {
            bail!(
                "configuration: limits.password_check_mib = {} is below the minimum of {argon2} (the memory of one argon2id password check)",
                self.password_check_mib
            );
        }
        Ok(())
    }

    /// The ingest limits.
    pub fn ingest(&self) -> vergleichsring_ingest::Limits {
        vergleichsring_ingest::Limits {
            max_rows: self.max_rows,
            max_columns: self.max_columns,
            max_uncompressed_bytes: self.max_uncompressed_bytes,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `human` (one line per event) or `json` (one JSON object per line).
    pub format: LogFormat,
    /// A `tracing` filter such as `info,deltalake=warn`; `RUST_LOG` wins
    /// when it is set.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            format: LogFormat::Human,
            level: "info,deltalake=warn,datafusion=warn,buoyant_kernel=off".into(),
        }
    }
}

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}
