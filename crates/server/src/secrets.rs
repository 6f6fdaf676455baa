//! The secrets of the web page's sessions and sign-ins: the CSRF token
//! derived from a session id, the comparison of secrets and random
//! nonces (the last two from the store, their one home). The sessions
//! themselves are in the state log (`Store::start_session`), so that every
//! replica knows them; the cookies and checks around them are in
//! `web/cookies.rs` and `web/signed_in.rs`.

/// The CSRF token of a session: derived from the cookie's secret value, so
/// that every replica knows it without storing it, and nobody without the
/// cookie can compute it.
pub(crate) fn csrf_of(session_id: &str) -> String {
    vergleichsring_store::hash_token(&format!("csrf:{session_id}"))
}

/// Compares secrets (CSRF tokens, nonces, the single sign-on's state) in
/// time independent of where they differ, with the store's comparison.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    vergleichsring_store::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// A random 256-bit value, hex-encoded (the sign-in's nonce, the single
/// sign-on's secret), from the store's one source of random secrets.
pub(crate) fn random_hex() -> String {
    vergleichsring_store::random_hex(32)
}
