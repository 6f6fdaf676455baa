//! The body shared by the fuzz targets: decode any bytes as one format and
//! validate what comes out against the library domain. Any outcome but a
//! panic is fine.

use vergleichsring_ingest::{Format, Limits, Submitter, decode, validate};

/// Decodes and validates `data` as `format`.
pub fn check(format: Format, data: &[u8]) {
    let limits = Limits {
        max_rows: 10_000,
        max_columns: 200,
        max_uncompressed_bytes: 16 * 1024 * 1024,
    };
    let Ok(decoded) = decode(format, bytes::Bytes::copy_from_slice(data), &limits) else {
        return;
    };
    let Ok(catalog) = vergleichsring_catalog::Catalog::bundled() else {
        return;
    };
    if let Some(domain) = catalog.domain("library") {
        let registered = |_: &str| true;
        let _ = validate(
            &decoded,
            domain,
            2024,
            &Submitter {
                own_member: None,
                is_registered: &registered,
            },
        );
    }
}
