//! What the catalogue knows about members: their ids (official regional
//! keys) and how an id is checked, the Länder by the key's first two
//! digits, and member kinds, which decide the size classes.

use serde::{Deserialize, Serialize};

/// The 16 Länder by the first two digits of the regional key.
pub const LAENDER: [(&str, &str); 16] = [
    ("01", "Schleswig-Holstein"),
    ("02", "Hamburg"),
    ("03", "Niedersachsen"),
    ("04", "Bremen"),
    ("05", "Nordrhein-Westfalen"),
    ("06", "Hessen"),
    ("07", "Rheinland-Pfalz"),
    ("08", "Baden-Württemberg"),
    ("09", "Bayern"),
    ("10", "Saarland"),
    ("11", "Berlin"),
    ("12", "Brandenburg"),
    ("13", "Mecklenburg-Vorpommern"),
    ("14", "Sachsen"),
    ("15", "Sachsen-Anhalt"),
    ("16", "Thüringen"),
];

/// The kind of a member, which decides its size classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A city that is not part of a county.
    KreisfreieStadt,
    /// A municipality that belongs to a county.
    KreisangehoerigeGemeinde,
    /// A county.
    Landkreis,
}

impl MemberKind {
    /// The id used in the API and in group names.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::KreisfreieStadt => "kreisfreie_stadt",
            MemberKind::KreisangehoerigeGemeinde => "kreisangehoerige_gemeinde",
            MemberKind::Landkreis => "landkreis",
        }
    }

    /// Parses the API id of a kind.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kreisfreie_stadt" => Some(MemberKind::KreisfreieStadt),
            "kreisangehoerige_gemeinde" => Some(MemberKind::KreisangehoerigeGemeinde),
            "landkreis" => Some(MemberKind::Landkreis),
            _ => None,
        }
    }
}

/// The Land code (first two digits) of a member id, if it names a Land.
pub fn land_of(member_id: &str) -> Option<&'static str> {
    let prefix = member_id.get(0..2)?;
    LAENDER
        .iter()
        .find(|(code, _)| *code == prefix)
        .map(|(code, _)| *code)
}

/// Checks that a member id is an official regional key: 8 digits for a
/// municipality or 5 for a county, starting with a Land code; a county must
/// have 5 digits and a municipality 8.
pub fn validate_member_id(member_id: &str, kind: Option<MemberKind>) -> Result<(), String> {
    if !member_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "member id '{member_id}' must consist of digits only (the official regional key)"
        ));
    }
    let expected: &[usize] = match kind {
        Some(MemberKind::Landkreis) => &[5],
        Some(_) => &[8],
        None => &[5, 8],
    };
    if !expected.contains(&member_id.len()) {
        let what = match kind {
            Some(MemberKind::Landkreis) => "5 digits (Kreisschlüssel) for a landkreis",
            Some(_) => "8 digits (Amtlicher Gemeindeschlüssel) for a municipality",
            None => "5 or 8 digits",
        };
        return Err(format!("member id '{member_id}' must have {what}"));
    }
    if land_of(member_id).is_none() {
        return Err(format!(
            "member id '{member_id}' must start with a Land code from 01 to 16"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_follow_the_regional_key() {
        assert!(validate_member_id("05315000", Some(MemberKind::KreisfreieStadt)).is_ok());
        assert!(validate_member_id("05382", Some(MemberKind::Landkreis)).is_ok());
        assert!(validate_member_id("05382", Some(MemberKind::KreisfreieStadt)).is_err());
        assert!(validate_member_id("17315000", None).is_err());
        assert!(validate_member_id("0531500a", None).is_err());
        assert_eq!(land_of("09162000"), Some("09"));
        assert_eq!(land_of("00"), None);
    }
}
