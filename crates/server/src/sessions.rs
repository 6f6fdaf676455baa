//! Helpers of the member web page's sessions. The sessions themselves are
//! in the state log (`Store::start_session`), so that every replica knows
//! them; the cookie and CSRF handling around them is in `web/session.rs`.

/// A random 256-bit value, hex-encoded (the sign-in's nonce).
pub(crate) fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CSRF token of a session: derived from the cookie's secret value, so
/// that every replica knows it without storing it, and nobody without the
/// cookie can compute it.
pub(crate) fn csrf_of(session_id: &str) -> String {
    vergleichsring_store::hash_token(&format!("csrf:{session_id}"))
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
