//! Single sign-on with OpenID Connect: the authorisation code flow with
//! PKCE against one configured provider (Keycloak, Entra ID, a Land's
//! portal account).
//!
//! The flow keeps no state on the server. The browser holds one random
//! secret in an `HttpOnly` cookie for ten minutes; `state`, `nonce` and the
//! PKCE verifier are derived from it (SHA-256 with a purpose), so any
//! replica can finish a flow another one began, and a callback that does
//! not come from the same browser (a forged or replayed `state`) finds no
//! matching cookie. The verifier never leaves the server: the provider sees
//! only its S256 challenge.
//!
//! Everything that comes back from the provider is hostile until checked:
//! answers are read up to [`MAX_ANSWER_BYTES`] within a timeout, and the ID
//! token's signature (against the provider's published keys, asymmetric
//! algorithms only), issuer, audience, expiry and nonce are validated
//! before its subject or e-mail address is believed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The largest answer read from the provider (discovery, keys, tokens).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How long discovery and keys are kept before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The least time between two fetches of the keys for an unknown key id,
/// so that tokens naming random key ids cannot make the service hammer the
/// provider.
const KEYS_REFRESH_MIN: Duration = Duration::from_secs(60);

/// How the service reaches its provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer, e.g. `https://login.example.de/realms/kommunen`; the
    /// discovery document is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This service's client id at the provider.
    pub client_id: String,
    /// The client secret (sent with HTTP Basic to the token endpoint).
    pub client_secret: String,
    /// Where the provider sends the browser back:
    /// `<public_url>/web/anmelden/sso/rueckkehr`.
    pub redirect_uri: String,
    /// The text of the sign-in button.
    pub label: String,
    /// Whether a person whose account is not linked yet is found by the
    /// provider's verified e-mail address (else only by invitation).
    pub link_by_email: bool,
    /// How long one request to the provider may take.
    pub timeout: Duration,
}

/// A person the provider vouches for.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The provider's issuer.
    pub issuer: String,
    /// The provider's stable id of the person.
    pub subject: String,
    /// The e-mail address, lower case, when the provider says it is verified.
    pub email: Option<String>,
}

/// Why a sign-in through the provider failed, for the log.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("provider: {0}")]
    Provider(String),
    /// The answer did not pass a check (state, signature, claims).
    #[error("rejected: {0}")]
    Rejected(String),
}

#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Cached {
    metadata: Metadata,
    keys: JwkSet,
    fetched: Instant,
    keys_fetched: Instant,
}

/// A configured provider.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<Cached>>,
    /// When the keys were last fetched for an unknown key id.
    last_refresh: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .finish()
    }
}

/// A value derived from the flow's secret for one purpose.
pub fn derive(secret: &str, purpose: &str) -> String {
    let mut h = Sha256::new();
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// The S256 challenge of a PKCE verifier (RFC 7636).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    aud: serde_json::Value,
}

/// The algorithms an ID token may be signed with: asymmetric only, so that
/// a token "signed" with the public key as an HMAC secret is refused.
const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
];

impl Oidc {
    /// A provider; nothing is fetched until the first sign-in.
    pub fn new(config: OidcConfig) -> Result<Oidc, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Provider(format!("HTTP client: {e}")))?;
        Ok(Oidc {
            config,
            http,
            cache: tokio::sync::Mutex::new(None),
            last_refresh: Mutex::new(None),
        })
    }

    /// The text of the sign-in button.
    pub fn label(&self) -> &str {
        &self.config.label
    }

    /// Whether unlinked accounts are found by verified e-mail address.
    pub fn links_by_email(&self) -> bool {
        self.config.link_by_email
    }

    /// A GET of JSON, read up to [`MAX_ANSWER_BYTES`].
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        read_json(url, response).await
    }

    /// Discovery and keys, fetched at most once an hour (or when `refresh`
    /// asks for new keys and the last fetch is a minute old).
    async fn cached(&self, refresh_keys: bool) -> Result<(Metadata, JwkSet), OidcError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|c| c.fetched.elapsed() < METADATA_TTL);
        if !fresh {
            let url = format!(
                "{}/.well-known/openid-configuration",
                self.config.issuer.trim_end_matches('/')
            );
            let metadata: Metadata = self.get_json(&url).await?;
            if metadata.issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
                return Err(OidcError::Rejected(format!(
                    "the discovery document names issuer {:?}, not {:?}",
                    metadata.issuer, self.config.issuer
                )));
            }
            let keys: JwkSet = self.get_json(&metadata.jwks_uri).await?;
            *cache = Some(Cached {
                metadata,
                keys,
                fetched: Instant::now(),
                keys_fetched: Instant::now(),
            });
        } else if refresh_keys
            && let Some(c) = cache.as_mut()
            && c.keys_fetched.elapsed() >= KEYS_REFRESH_MIN
        {
            c.keys = self.get_json(&c.metadata.jwks_uri).await?;
            c.keys_fetched = Instant::now();
        }
        cache
            .as_ref()
            .map(|c| (c.metadata.clone(), c.keys.clone()))
            .ok_or_else(|| OidcError::Provider("no discovery document".into()))
    }

    /// Where to send the browser to sign in, for a flow with this secret.
    pub async fn authorization_url(&self, secret: &str) -> Result<String, OidcError> {
        let (metadata, _) = self.cached(false).await?;
        let mut url = url::Url::parse(&metadata.authorization_endpoint).map_err(|e| {
            OidcError::Provider(format!(
                "authorization_endpoint {:?}: {e}",
                metadata.authorization_endpoint
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &derive(secret, "state"))
            .append_pair("nonce", &derive(secret, "nonce"))
            .append_pair("code_challenge", &challenge(&derive(secret, "pkce")))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Finishes a flow: checks `state` against the browser's secret,
    /// redeems the code with the PKCE verifier and validates the ID token.
    pub async fn finish(
        &self,
        secret: &str,
        code: &str,
        state: &str,
    ) -> Result<Identity, OidcError> {
        if !crate::secrets::same_secret(&derive(secret, "state"), state) {
            return Err(OidcError::Rejected(
                "state does not belong to this browser's sign-in".into(),
            ));
        }
        let (metadata, _) = self.cached(false).await?;
        let form = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_uri),
            ("code_verifier", &derive(secret, "pkce")),
        ])
        .map_err(|e| OidcError::Provider(format!("token request: {e}")))?;
        let response = self
            .http
            .post(&metadata.token_endpoint)
            .basic_auth(
                form_component(&self.config.client_id),
                Some(form_component(&self.config.client_secret)),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let answer: TokenAnswer = read_json(&metadata.token_endpoint, response).await?;
        self.validate(&answer.id_token, &derive(secret, "nonce"))
            .await
    }

    /// Checks an ID token: signature with the provider's key, issuer,
    /// audience (and `azp` when there are several), expiry, nonce.
    pub async fn validate(&self, id_token: &str, nonce: &str) -> Result<Identity, OidcError> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| OidcError::Rejected(format!("ID token header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::Rejected(format!(
                "ID token algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let (metadata, mut keys) = self.cached(false).await?;
        let known = |keys: &JwkSet| match &header.kid {
            Some(kid) => keys.find(kid).is_some(),
            None => keys.keys.len() == 1,
        };
        if !known(&keys) && self.may_refresh() {
            keys = self.cached(true).await?.1;
        }
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| OidcError::Rejected("ID token signed with an unknown key".into()))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| OidcError::Rejected(format!("provider key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[metadata.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|e| OidcError::Rejected(format!("ID token: {e}")))?
            .claims;
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::secrets::same_secret(n, nonce))
        {
            return Err(OidcError::Rejected(
                "ID token nonce does not belong to this sign-in".into(),
            ));
        }
        if claims.aud.as_array().is_some_and(|a| a.len() > 1)
            && claims.azp.as_deref() != Some(self.config.client_id.as_str())
        {
            return Err(OidcError::Rejected(
                "ID token for several audiences without azp naming this client".into(),
            ));
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(OidcError::Rejected(
                "ID token subject is empty or too long".into(),
            ));
        }
        Ok(Identity {
            issuer: metadata.issuer,
            subject: claims.sub,
            email: claims
                .email
                .filter(|_| claims.email_verified == Some(true))
                .map(|e| e.trim().to_lowercase()),
        })
    }

    /// Whether the keys may be fetched again for an unknown key id now.
    fn may_refresh(&self) -> bool {
        let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < KEYS_REFRESH_MIN) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
fn form_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reads a JSON answer of at most [`MAX_ANSWER_BYTES`]; a status other
/// than 200 is the provider's error, named with its (short) body.
async fn read_json<T: serde::de::DeserializeOwned>(
    url: &str,
    mut response: reqwest::Response,
) -> Result<T, OidcError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(OidcError::Provider(format!(
                "{url}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(OidcError::Provider(format!("{url}: {status}: {text}")));
    }
    serde_json::from_slice(&body).map_err(|e| OidcError::Provider(format!("{url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_differ_by_purpose_and_secret() {
        let s = "a".repeat(48);
        assert_ne!(derive(&s, "state"), derive(&s, "nonce"));
        assert_ne!(derive(&s, "pkce"), derive(&"b".repeat(48), "pkce"));
        // A PKCE verifier has 43 to 128 characters of the unreserved set.
        let v = derive(&s, "pkce");
        assert!((43..=128).contains(&v.len()));
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
    }

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
