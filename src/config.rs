//! The configuration file of `serve` (TOML); every field has a default.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use vergleichsring_engine::disclosure::Policy;

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Disclosure thresholds of the ring.
    #[serde(default)]
    pub disclosure: Policy,
    /// Request limits.
    #[serde(default)]
    pub limits: Limits,
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
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
}

impl Default for Limits {
    fn default() -> Self {
        let ingest = vergleichsring_ingest::Limits::default();
        Limits {
            max_body_bytes: 20 * 1024 * 1024,
            max_rows: ingest.max_rows,
            max_uncompressed_bytes: ingest.max_uncompressed_bytes,
            upload_seconds: 60,
        }
    }
}

impl Limits {
    /// The ingest limits.
    pub fn ingest(&self) -> vergleichsring_ingest::Limits {
        vergleichsring_ingest::Limits {
            max_rows: self.max_rows,
            max_uncompressed_bytes: self.max_uncompressed_bytes,
            ..vergleichsring_ingest::Limits::default()
        }
    }
}

impl Config {
    /// Reads the file, or the defaults without one.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))
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
        Ok(*d)
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

    #[test]
    fn thresholds_below_three_are_refused() {
        assert!(parse("[disclosure]\nthreshold = 2\n").is_err());
        assert!(parse("[disclosure]\nthreshold_external = 1\n").is_err());
        assert!(parse("[disclosure]\ndominance_k = 1.5\n").is_err());
        let p = parse("[disclosure]\nthreshold = 7\nvisibility = \"pseudonymous\"\n").unwrap();
        assert_eq!(p.threshold, 7);
        assert_eq!(p.visibility, Visibility::Pseudonymous);
        assert_eq!(parse("").unwrap(), Policy::default());
        assert!(toml::from_str::<Config>("[disclosure]\nthreshhold = 5\n").is_err());
    }
}
