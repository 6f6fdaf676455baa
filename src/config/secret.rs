//! A secret of the configuration (the ring's secrets key, the S3 secret,
//! the mail and single sign-on passwords): it never prints. `Debug` and
//! serialisation (what `config check` shows) give `********`; the value is
//! reached only through [`Secret::expose`], where it is handed on.

use serde::{Deserialize, Serialize, Serializer};

/// What a secret prints as.
const MASK: &str = "********";

/// A secret string of the configuration.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, to hand to what needs it (a client, a key parser).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{MASK}\""));
    }
}
