//! Passwords: the argon2id hash of a new one, the check of a given one in
//! working memory reused between checks, and the rules a new one must
//! meet. Kept apart from the accounts (`users.rs`) that store the hashes.

use argon2::password_hash::PasswordHasher;

use crate::auth::random_hex;
use crate::{Result, StoreError};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The argon2id hash of a password (default parameters: 19 MiB, two
/// passes), with a random salt.
pub(crate) fn hash_password(password: &str) -> Result<String> {
    let salt: [u8; 16] = rand::random();
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("password: {e}")))
}

/// Argon2 working memory kept between password checks (19 MiB each at the
/// default parameters). Allocated anew for every check, glibc kept the
/// freed blocks in its heaps: a burst of sign-ins from 300 addresses left
/// the server at 707 MiB although only four checks ran at once (issue 26).
/// Reused, the memory stays at the most checks that ran at once.
static ARGON2_MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// Buffers kept for reuse at most; more at once (a larger
/// `limits.password_check_mib`) are freed after their check.
const ARGON2_MEMORY_KEPT: usize = 8;

/// Whether a password matches a stored hash (argon2id PHC string),
/// computed in reused working memory.
pub(crate) fn password_matches(password: &str, hash: &str) -> bool {
    let Ok(parsed) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let mut memory = ARGON2_MEMORY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default();
    memory.resize(blocks, argon2::Block::default());
    let mut out = vec![0u8; expected.as_bytes().len()];
    let computed = argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok();
    let mut kept = ARGON2_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() < ARGON2_MEMORY_KEPT {
        kept.push(memory);
    }
    computed && crate::auth::constant_time_eq(&out, expected.as_bytes())
}

/// A hash no password matches, verified against when the e-mail address is
/// unknown, so that the answer takes as long as for a known one.
pub(crate) fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password_rules(password: &str) -> std::result::Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("the password must have at most 1024 bytes".into());
    }
    Ok(())
}
