//! The state every handler shares.

use std::sync::Arc;

use vergleichsring_engine::Engine;

use crate::{cache, observe, rate};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted upload body in bytes.
    pub max_body_bytes: usize,
    /// Uploads one token (other than admin's) may make a minute; 0: no limit.
    pub uploads_per_minute: u32,
    /// Analysts' queries one token may send a minute; 0: no limit.
    pub queries_per_minute: u32,
    /// Analysts' queries running at once, over all tokens.
    pub concurrent_queries: usize,
    /// The proxies whose `X-Forwarded-For` names the client (none: the
    /// header is ignored).
    pub trusted_proxies: crate::client::TrustedProxies,
    /// The sign-in throttles and the bound on password checks at once.
    pub sign_ins: crate::throttle::SignInLimits,
    /// A member is not reminded twice of one collection within this.
    pub reminder_interval: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 20 * 1024 * 1024,
            uploads_per_minute: 30,
            queries_per_minute: 60,
            concurrent_queries: 2,
            trusted_proxies: Default::default(),
            sign_ins: Default::default(),
            reminder_interval: std::time::Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The engine: the only door to figures and statistics.
    pub engine: Arc<Engine>,
    /// The store, for what is not figures: tokens, members, grants,
    /// custom groups, the access log and the lake's health.
    pub store: Arc<vergleichsring_store::Store>,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Materialised statistics responses by `ETag`.
    pub responses: Arc<cache::ResponseCache>,
    /// Per-token rate limits and the bound on queries running at once.
    pub rates: Arc<rate::Rates>,
    /// Sign-in attempts per account, token and client address, and the
    /// bound on password checks at once.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// The address users reach the service at (`https://ring.example.de`),
    /// for links in e-mails and the single sign-on's return address.
    pub public_url: Option<Arc<str>>,
    /// The mail server for invitations and password resets, if any.
    pub mail: Option<Arc<crate::mail::Mailer>>,
    /// The single sign-on provider, if any.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
}

impl AppState {
    /// The state of a server over an engine and its store.
    pub fn new(
        engine: Arc<Engine>,
        store: Arc<vergleichsring_store::Store>,
        config: HttpConfig,
    ) -> AppState {
        // Counters recorded before the recorder exists would be lost.
        observe::prometheus();
        AppState {
            engine,
            store,
            rates: Arc::new(rate::Rates::new(
                config.uploads_per_minute,
                config.queries_per_minute,
                config.concurrent_queries,
            )),
            throttle: Arc::new(crate::throttle::Throttle::new(config.sign_ins.clone())),
            config: Arc::new(config),
            responses: Arc::default(),
            public_url: None,
            mail: None,
            oidc: None,
        }
    }

    /// The throttle key of a request's client: its address, or behind a
    /// trusted proxy the address the proxy names (see `client.rs`).
    pub fn client_address(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> String {
        crate::client::client_address(&self.config.trusted_proxies, headers, extensions)
    }

    /// The same state with the public address, a mail server and a single
    /// sign-on provider (each optional).
    pub fn with_accounts(
        mut self,
        public_url: Option<String>,
        mail: Option<crate::mail::Mailer>,
        oidc: Option<crate::oidc::Oidc>,
    ) -> AppState {
        self.public_url = public_url.map(|u| Arc::from(u.trim_end_matches('/')));
        self.mail = mail.map(Arc::new);
        self.oidc = oidc.map(Arc::new);
        self
    }
}
