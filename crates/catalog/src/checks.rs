//! The checks every upload passes before the domain's own rules: they do not
//! depend on a domain, so they live in code, but they are listed in the
//! catalogue with the same fields as the domain rules.

use serde::Serialize;

/// A check built into the ingest path, with its id and messages.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BuiltinCheck {
    /// Machine-readable id, reported as `rule` in validation errors.
    pub id: &'static str,
    /// Always `error`: built-in checks reject the upload.
    pub level: &'static str,
    /// German description.
    pub message_de: &'static str,
    /// English description.
    pub message_en: &'static str,
}

const fn check(
    id: &'static str,
    message_de: &'static str,
    message_en: &'static str,
) -> BuiltinCheck {
    BuiltinCheck {
        id,
        level: "error",
        message_de,
        message_en,
    }
}

/// Every built-in check, in the order they are applied.
pub const BUILTIN_CHECKS: [BuiltinCheck; 14] = [
    check(
        "unreadable_file",
        "Die Datei kann nicht gelesen werden.",
        "The file cannot be read.",
    ),
    check(
        "empty_upload",
        "Die Datei enthält keine Zeilen.",
        "The file contains no rows.",
    ),
    check(
        "unknown_column",
        "Die Spalte ist keine Grundzahl dieses Bereichs.",
        "The column is not a basic figure of this domain.",
    ),
    check(
        "missing_column",
        "Eine Pflicht-Grundzahl fehlt als Spalte.",
        "A required basic figure is missing as a column.",
    ),
    check(
        "wrong_type",
        "Die Spalte hat einen nicht-numerischen Typ.",
        "The column does not have a numeric type.",
    ),
    check(
        "missing_member_id",
        "Die Spalte member_id fehlt oder ist leer.",
        "The member_id column is missing or empty.",
    ),
    check(
        "invalid_member_id",
        "Die member_id ist kein gültiger Regionalschlüssel.",
        "The member_id is not a valid regional key.",
    ),
    check(
        "unregistered_member",
        "Das Mitglied ist nicht registriert.",
        "The member is not registered.",
    ),
    check(
        "foreign_member",
        "Ein Mitglied darf nur eigene Zahlen hochladen.",
        "A member may only upload its own figures.",
    ),
    check(
        "duplicate_member",
        "Das Mitglied kommt mehrfach in der Datei vor.",
        "The member appears more than once in the file.",
    ),
    check(
        "year_mismatch",
        "Das Jahr in der Datei weicht vom Jahr der Adresse ab.",
        "The year in the file differs from the year in the address.",
    ),
    check(
        "required_missing",
        "Eine Pflicht-Grundzahl ist leer.",
        "A required basic figure is empty.",
    ),
    check(
        "not_finite",
        "Der Wert ist keine endliche Zahl (NaN oder unendlich).",
        "The value is not a finite number (NaN or infinity).",
    ),
    check(
        "negative",
        "Der Wert ist negativ; Grundzahlen sind Anzahlen oder Beträge.",
        "The value is negative; basic figures are counts or amounts.",
    ),
];
