//! The configuration of `serve`: a TOML file, overridden by environment
//! variables, overridden by command-line flags. Every key has a default.
//!
//! Environment variables are named `VERGLEICHSRING_<KEY>` for top-level
//! keys (`VERGLEICHSRING_LISTEN`) and `VERGLEICHSRING_<SECTION>_<KEY>` for
//! keys of a section (`VERGLEICHSRING_DISCLOSURE_THRESHOLD=7`,
//! `VERGLEICHSRING_LAKE_URL=s3://ring/lake`). A value is read as a TOML
//! value when it parses as one (numbers, booleans) and as a string
//! otherwise. A variable that names no key is an error, so a typo does not
//! go unnoticed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use vergleichsring_engine::disclosure::Policy;

mod secret;
mod sections;
mod server;
pub use secret::Secret;
pub use sections::{Lake, Limits, Log, LogFormat, Mail, Oidc};
pub use server::Server;

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "VERGLEICHSRING_";

/// The sections of the file, for mapping environment variables to keys.
const SECTIONS: [&str; 7] = [
    "lake",
    "disclosure",
    "limits",
    "log",
    "mail",
    "oidc",
    "server",
];

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The data directory (members, tokens, registry files, archive, and the
    /// lake unless `lake.url` puts it elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// The address users reach the service at, e.g.
    /// `https://ring.example.de`: links in e-mails and the single sign-on's
    /// return address are made from it. Required with `[mail]` or `[oidc]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The ring's key (64 hex digits) that seals the secrets of second
    /// factors in the lake; the same on every replica. Better from
    /// `VERGLEICHSRING_SECRETS_KEY`; masked by `config check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_key: Option<Secret>,
    /// Where the Delta tables live.
    pub lake: Lake,
    /// Disclosure thresholds of the ring.
    pub disclosure: Policy,
    /// Request limits.
    pub limits: Limits,
    /// Logging.
    pub log: Log,
    /// The mail server for invitations and password resets.
    pub mail: Mail,
    /// The single sign-on provider (OpenID Connect).
    pub oidc: Oidc,
    /// The network around the service (trusted proxies).
    pub server: Server,
    /// Structural neighbours and types: `k`, the variables and weights.
    pub neighbours: vergleichsring_engine::structure::NeighbourSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: None,
            lake: Lake::default(),
            disclosure: Policy::default(),
            limits: Limits::default(),
            log: Log::default(),
            public_url: None,
            secrets_key: None,
            mail: Mail::default(),
            oidc: Oidc::default(),
            server: Server::default(),
            neighbours: Default::default(),
        }
    }
}

/// Values given as command-line flags, which win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
}

/// The configuration and where its values came from.
#[derive(Debug)]
pub struct Resolved {
    /// The effective configuration.
    pub config: Config,
    /// The environment variables that overrode the file, by name.
    pub from_env: Vec<String>,
}

/// Sets `path` (section, key) in a TOML table, creating the section.
fn set(table: &mut toml::Table, section: Option<&str>, key: &str, value: toml::Value) {
    match section {
        None => {
            table.insert(key.to_string(), value);
        }
        Some(s) => {
            let entry = table
                .entry(s.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                t.insert(key.to_string(), value);
            }
        }
    }
}

/// An environment value as TOML: a number or boolean when it parses as
/// one, else a string.
fn env_value(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => v,
            _ => toml::Value::String(raw.to_string()),
        },
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

impl Config {
    /// File < environment < flags. `env` is the process environment (given,
    /// so that tests need not change their own).
    pub fn resolve(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Flags,
    ) -> anyhow::Result<Resolved> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading configuration {}", path.display()))?;
                toml::from_str::<toml::Table>(&text)
                    .with_context(|| format!("configuration {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        let mut from_env = Vec::new();
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        env.sort();
        for (name, raw) in env {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            let (section, key) = match SECTIONS
                .iter()
                .find_map(|s| key.strip_prefix(&format!("{s}_")).map(|k| (*s, k)))
            {
                Some((s, k)) => (Some(s), k.to_string()),
                None => (None, key),
            };
            if !Self::knows(section, &key) {
                bail!(
                    "environment variable {name} names no configuration key (see the configuration reference in README.md)"
                );
            }
            set(&mut table, section, &key, env_value(&raw));
            from_env.push(name);
        }
        if let Some(listen) = flags.listen {
            set(
                &mut table,
                None,
                "listen",
                toml::Value::String(listen.to_string()),
            );
        }
        if let Some(dir) = &flags.data_dir {
            set(
                &mut table,
                None,
                "data_dir",
                toml::Value::String(dir.display().to_string()),
            );
        }
        if let Some(format) = flags.log_format {
            let v = toml::Value::try_from(format).context("log format")?;
            set(&mut table, Some("log"), "format", v);
        }
        let source = match file {
            Some(p) => format!("configuration {}", p.display()),
            None => "configuration".to_string(),
        };
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .with_context(|| match from_env.is_empty() {
                    true => source.clone(),
                    false => format!("{source} with {}", from_env.join(", ")),
                })?;
        config.validate()?;
        Ok(Resolved { config, from_env })
    }

    /// Whether `(section, key)` is a key of the configuration, judged by
    /// the defaults with every optional key filled in.
    fn knows(section: Option<&str>, key: &str) -> bool {
        let optional_top = ["data_dir", "public_url", "secrets_key"];
        let optional: [(&str, &[&str]); 3] = [
            (
                "lake",
                &["url", "endpoint", "access_key_id", "secret_access_key"],
            ),
            ("mail", &["smtp_host", "username", "password", "ca_file"]),
            ("oidc", &["issuer", "client_id", "client_secret"]),
        ];
        let Ok(toml::Value::Table(defaults)) = toml::Value::try_from(Config::default()) else {
            return false;
        };
        match section {
            None => {
                defaults.contains_key(key) && !SECTIONS.contains(&key)
                    || optional_top.contains(&key)
            }
            Some(s) => {
                defaults
                    .get(s)
                    .and_then(|t| t.as_table())
                    .is_some_and(|t| t.contains_key(key))
                    || optional
                        .iter()
                        .any(|(section, keys)| *section == s && keys.contains(&key))
            }
        }
    }

    /// Checks what deserialising cannot: thresholds, the lake URL, the log
    /// filter.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.policy()?;
        self.lake.validate()?;
        self.limits.validate()?;
        self.server.proxies()?;
        if let Some(problem) = self.neighbours.problem() {
            bail!("configuration: {problem}");
        }
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url)
                .with_context(|| format!("configuration: public_url '{url}' is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.path() != "/" {
                bail!(
                    "configuration: public_url '{url}' must be an http(s) address without a path, e.g. https://ring.example.de"
                );
            }
        }
        self.secrets_key()?;
        let needs_url = |what: &str| {
            anyhow::anyhow!(
                "configuration: {what} needs public_url (the address users reach the service at), for the links it sends"
            )
        };
        if self.mail.smtp_host.is_some() && self.public_url.is_none() {
            return Err(needs_url("[mail]"));
        }
        if self.mail.username.is_some() != self.mail.password.is_some() {
            bail!("configuration: mail.username and mail.password are set together or not at all");
        }
        if self.oidc.issuer.is_some() {
            if self.public_url.is_none() {
                return Err(needs_url("[oidc]"));
            }
            if self.oidc.client_id.is_none() || self.oidc.client_secret.is_none() {
                bail!(
                    "configuration: [oidc] needs client_id and client_secret (VERGLEICHSRING_OIDC_CLIENT_SECRET) beside issuer"
                );
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .with_context(|| format!("configuration: log.level '{}'", self.log.level))?;
        Ok(())
    }

    /// The key that seals second factors' secrets, if one is configured.
    pub fn secrets_key(&self) -> anyhow::Result<Option<vergleichsring_store::SecretsKey>> {
        self.secrets_key
            .as_ref()
            .map(|key| vergleichsring_store::SecretsKey::from_hex(key.expose()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))
    }

    /// The mail server of `[mail]`, if one is configured; reads the CA file.
    pub fn mailer(&self) -> anyhow::Result<Option<vergleichsring_server::mail::Mailer>> {
        let m = &self.mail;
        let Some(host) = &m.smtp_host else {
            return Ok(None);
        };
        let ca_pem = match &m.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("configuration: mail.ca_file {}", path.display()))?,
            ),
            None => None,
        };
        let config = vergleichsring_server::mail::MailConfig {
            host: host.clone(),
            port: m.smtp_port,
            starttls: m.starttls,
            from: m.from.clone(),
            credentials: m
                .username
                .clone()
                .zip(m.password.as_ref().map(|p| p.expose().to_string())),
            ca_pem,
            timeout: std::time::Duration::from_secs(m.timeout_seconds.max(1)),
        };
        vergleichsring_server::mail::Mailer::new(&config)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))
    }

    /// The single sign-on provider of `[oidc]`, if one is configured.
    pub fn oidc(&self) -> anyhow::Result<Option<vergleichsring_server::oidc::Oidc>> {
        let o = &self.oidc;
        let (Some(issuer), Some(client_id), Some(client_secret), Some(base)) =
            (&o.issuer, &o.client_id, &o.client_secret, &self.public_url)
        else {
            return Ok(None);
        };
        let config = vergleichsring_server::oidc::OidcConfig {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.expose().to_string(),
            redirect_uri: format!("{}/web/anmelden/sso/rueckkehr", base.trim_end_matches('/')),
            label: o.label.clone(),
            link_by_email: o.link_by_email,
            timeout: std::time::Duration::from_secs(o.timeout_seconds.max(1)),
        };
        vergleichsring_server::oidc::Oidc::new(config)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("configuration: [oidc]: {e}"))
    }

    /// The disclosure policy; thresholds below 3 are refused, because with two
    /// peers each can compute the other's value from a mean.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let d = &self.disclosure;
        for (name, v) in [
            ("threshold", d.threshold),
            ("threshold_external", d.threshold_external),
            ("median_min", d.median_min),
            ("quartiles_min", d.quartiles_min),
            ("deciles_min", d.deciles_min),
        ] {
            if v < 3 {
                bail!("configuration: disclosure.{name} = {v} is below the minimum of 3");
            }
        }
        if d.dominance_n < 1
            || !(d.dominance_k > 0.0 && d.dominance_k <= 1.0)
            || !(0.0..1.0).contains(&d.p_ratio)
        {
            bail!(
                "configuration: disclosure.dominance_n must be at least 1, dominance_k in (0, 1] and p_ratio in [0, 1)"
            );
        }
        d.check_noise()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        Ok(*d)
    }

    /// Where the store finds the Delta tables, with the storage options
    /// deltalake and object_store take. Keys not set here fall back to the
    /// standard `AWS_*` environment variables.
    pub fn lake_location(&self) -> anyhow::Result<vergleichsring_store::LakeLocation> {
        let l = &self.lake;
        let Some(url) = &l.url else {
            return Ok(vergleichsring_store::LakeLocation::default());
        };
        let mut options = std::collections::HashMap::new();
        let mut set = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                options.insert(k.to_string(), v.clone());
            }
        };
        set("AWS_ENDPOINT_URL", l.endpoint.as_ref());
        set("AWS_ACCESS_KEY_ID", l.access_key_id.as_ref());
        if let Some(secret) = &l.secret_access_key {
            options.insert("AWS_SECRET_ACCESS_KEY".into(), secret.expose().to_string());
        }
        options.insert("AWS_REGION".into(), l.region.clone());
        if l.allow_http {
            options.insert("AWS_ALLOW_HTTP".into(), "true".into());
        }
        Ok(vergleichsring_store::LakeLocation {
            url: Some(url::Url::parse(url).with_context(|| format!("lake.url '{url}'"))?),
            options,
        })
    }

    /// The effective configuration as TOML with secrets masked: a
    /// [`Secret`] serialises as `********`, whatever its key is called.
    pub fn masked_toml(&self) -> anyhow::Result<String> {
        let value = toml::Value::try_from(self).context("serialising the configuration")?;
        Ok(toml::to_string(&value)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vergleichsring_engine::disclosure::Visibility;

    fn parse(text: &str) -> anyhow::Result<Policy> {
        let c: Config = toml::from_str(text)?;
        c.policy()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_comma_separated() {
        let f = file("[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n");
        let r = Config::resolve(Some(f.path()), env(&[]), &Flags::default()).unwrap();
        assert_eq!(r.config.server.trusted_proxies, ["127.0.0.1", "10.0.0.0/8"]);
        let r = Config::resolve(
            None,
            env(&[(
                "VERGLEICHSRING_SERVER_TRUSTED_PROXIES",
                "192.0.2.1, fd00::/8",
            )]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(r.config.server.trusted_proxies, ["192.0.2.1", "fd00::/8"]);
        let proxies = r.config.server.proxies().unwrap();
        assert!(proxies.trusts("fd00::7".parse().unwrap()));
        let e = Config::resolve(
            None,
            env(&[(
                "VERGLEICHSRING_SERVER_TRUSTED_PROXIES",
                "10.0.0.0/8,proxy.local",
            )]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("server.trusted_proxies: 'proxy.local' is not an IP address"),
            "{e:#}"
        );
        assert!(Config::default().server.proxies().unwrap().is_empty());
    }

    #[test]
    fn the_password_check_budget_holds_one_check_at_least() {
        assert_eq!(Config::default().limits.password_check_mib, 76);
        let e = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_LIMITS_PASSWORD_CHECK_MIB", "10")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("limits.password_check_mib = 10 is below the minimum of 19"),
            "{e:#}"
        );
    }

    #[test]
    fn thresholds_below_three_are_refused() {
        assert!(parse("[disclosure]\nthreshold = 2\n").is_err());
        assert!(parse("[disclosure]\nthreshold_external = 1\n").is_err());
        assert!(parse("[disclosure]\ndominance_k = 1.5\n").is_err());
        assert!(parse("[disclosure]\nnoise_min = 0.2\nnoise_max = 0.1\n").is_err());
        assert!(parse("[disclosure]\nnoise_max = 0.6\n").is_err());
        assert!(parse("[disclosure]\nnoise_min = 0\nnoise_max = 0\n").is_ok());
        let p = parse("[disclosure]\nthreshold = 7\nvisibility = \"pseudonymous\"\n").unwrap();
        assert_eq!(p.threshold, 7);
        assert_eq!(p.visibility, Visibility::Pseudonymous);
        assert_eq!(parse("").unwrap(), Policy::default());
        assert!(toml::from_str::<Config>("[disclosure]\nthreshhold = 5\n").is_err());
    }

    #[test]
    fn file_then_environment_then_flags() {
        let f = file(
            "listen = \"127.0.0.1:9001\"\ndata_dir = \"/from/file\"\n[disclosure]\nthreshold = 6\nmedian_min = 6\n[limits]\nmax_rows = 10\n[log]\nformat = \"human\"\n",
        );
        // The file alone.
        let r = Config::resolve(Some(f.path()), env(&[]), &Flags::default()).unwrap();
        assert_eq!(r.config.listen.port(), 9001);
        assert_eq!(r.config.disclosure.threshold, 6);
        assert_eq!(r.config.limits.max_rows, 10);
        // The environment wins over the file, key by key.
        let e = env(&[
            ("VERGLEICHSRING_LISTEN", "127.0.0.1:9002"),
            ("VERGLEICHSRING_DISCLOSURE_THRESHOLD", "7"),
            ("VERGLEICHSRING_DISCLOSURE_VISIBILITY", "pseudonymous"),
            ("VERGLEICHSRING_LOG_FORMAT", "json"),
            ("VERGLEICHSRING_LAKE_ALLOW_HTTP", "true"),
            ("UNRELATED", "x"),
        ]);
        let r = Config::resolve(Some(f.path()), e.clone(), &Flags::default()).unwrap();
        assert_eq!(r.config.listen.port(), 9002);
        assert_eq!(r.config.disclosure.threshold, 7);
        assert_eq!(r.config.disclosure.median_min, 6, "untouched keys stay");
        assert_eq!(r.config.disclosure.visibility, Visibility::Pseudonymous);
        assert_eq!(r.config.log.format, LogFormat::Json);
        assert!(r.config.lake.allow_http);
        assert_eq!(r.from_env.len(), 5);
        // Flags win over both.
        let flags = Flags {
            listen: Some("127.0.0.1:9003".parse().unwrap()),
            data_dir: Some("/from/flag".into()),
            log_format: Some(LogFormat::Human),
        };
        let r = Config::resolve(Some(f.path()), e, &flags).unwrap();
        assert_eq!(r.config.listen.port(), 9003);
        assert_eq!(r.config.data_dir.as_deref(), Some(Path::new("/from/flag")));
        assert_eq!(r.config.log.format, LogFormat::Human);
        assert_eq!(r.config.disclosure.threshold, 7);
    }

    /// Mail and single sign-on need the public address; their secrets
    /// and the ring's key come from the environment; a key that is not 64
    /// hex digits is refused.
    #[test]
    fn accounts_settings_are_checked_and_read_from_the_environment() {
        let no_url = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_MAIL_SMTP_HOST", "mail.example.de")]),
            &Flags::default(),
        );
        assert!(format!("{:#}", no_url.unwrap_err()).contains("public_url"));
        let f = file(
            "public_url = \"https://ring.example.de\"\n[oidc]\nissuer = \"https://login.example.de\"\nclient_id = \"ring\"\n",
        );
        let missing = Config::resolve(Some(f.path()), env(&[]), &Flags::default());
        assert!(format!("{:#}", missing.unwrap_err()).contains("client_secret"));
        let r = Config::resolve(
            Some(f.path()),
            env(&[
                ("VERGLEICHSRING_OIDC_CLIENT_SECRET", "geheim"),
                ("VERGLEICHSRING_SECRETS_KEY", &"ab".repeat(32)),
            ]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(
            r.config.oidc.client_secret.as_ref().map(Secret::expose),
            Some("geheim")
        );
        assert!(r.config.secrets_key().unwrap().is_some());
        assert!(r.config.oidc().unwrap().is_some());
        let bad = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_SECRETS_KEY", "kurz")]),
            &Flags::default(),
        );
        assert!(format!("{:#}", bad.unwrap_err()).contains("64 hex digits"));
        let path = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_PUBLIC_URL", "https://ring.example.de/unter")]),
            &Flags::default(),
        );
        assert!(path.is_err());
    }

    #[test]
    fn bad_values_name_their_source() {
        let err = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_DISCLOSURE_THRESHHOLD", "7")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("VERGLEICHSRING_DISCLOSURE_THRESHHOLD"));
        let err = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_DISCLOSURE_THRESHOLD", "2")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("disclosure.threshold = 2"));
        let err = Config::resolve(
            None,
            env(&[("VERGLEICHSRING_LIMITS_MAX_ROWS", "many")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("VERGLEICHSRING_LIMITS_MAX_ROWS"));
        let f = file("[lake]\nurl = \"ftp://x\"\n");
        assert!(Config::resolve(Some(f.path()), env(&[]), &Flags::default()).is_err());
    }

    #[test]
    fn the_readme_reference_is_a_valid_configuration_of_the_defaults() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("```toml\nlisten")
            .expect("the configuration reference in README.md");
        let block = &readme[start + "```toml\n".len()..];
        let block = &block[..block.find("```").unwrap()];
        let f = file(block);
        let r = Config::resolve(Some(f.path()), env(&[]), &Flags::default()).unwrap();
        // Apart from the data directory, the reference shows the defaults.
        let mut shown = r.config;
        shown.data_dir = None;
        assert_eq!(
            toml::to_string(&shown).unwrap(),
            toml::to_string(&Config::default()).unwrap()
        );
    }

    #[test]
    fn secrets_are_masked() {
        let r = Config::resolve(
            None,
            env(&[
                ("VERGLEICHSRING_LAKE_URL", "s3://ring/lake"),
                ("VERGLEICHSRING_LAKE_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("VERGLEICHSRING_LAKE_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        let text = r.config.masked_toml().unwrap();
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(text.contains("secret_access_key = \"********\""), "{text}");
        assert!(text.contains("s3://ring/lake"));
        // What is printed reads back as a configuration.
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.lake.url.as_deref(), Some("s3://ring/lake"));
    }
}
