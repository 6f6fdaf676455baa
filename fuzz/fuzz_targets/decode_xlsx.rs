//! Fuzzes the xlsx decoder and the validation behind it: any bytes must give
//! a result or a list of errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vergleichsring_ingest::{Format, Limits, Submitter, decode, validate};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_rows: 10_000,
        max_columns: 200,
        max_uncompressed_bytes: 16 * 1024 * 1024,
    };
    if let Ok(decoded) = decode(Format::Xlsx, bytes::Bytes::copy_from_slice(data), &limits) {
        if let Ok(catalog) = vergleichsring_catalog::Catalog::bundled() {
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
    }
});
