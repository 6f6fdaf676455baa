//! `[server]`: how the service sits in the network. Its one key,
//! `trusted_proxies`, names the reverse proxies (the TLS proxy the README
//! recommends) whose `X-Forwarded-For` header tells the client's address,
//! which the sign-in throttles count by.

use serde::{Deserialize, Deserializer, Serialize};

/// `[server]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Addresses or CIDR networks of the proxies in front of the service,
    /// e.g. `["127.0.0.1", "10.0.0.0/8"]`; from the environment as a
    /// comma-separated list (`VERGLEICHSRING_SERVER_TRUSTED_PROXIES`).
    /// Empty: `X-Forwarded-For` is ignored and the peer is the client.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
}

impl Server {
    /// The trusted proxies, or a sentence naming the entry that is not an
    /// address or a network.
    pub fn proxies(&self) -> anyhow::Result<vergleichsring_server::TrustedProxies> {
        vergleichsring_server::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("configuration: server.trusted_proxies: {e}"))
    }
}

/// A TOML array of strings, or one string of comma-separated entries (how
/// an environment variable gives a list).
fn list_or_commas<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entries {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match Entries::deserialize(d)? {
        Entries::List(list) => list,
        Entries::Commas(text) => text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
    })
}
