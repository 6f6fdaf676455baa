//! Fuzzes the parquet decoder and the validation behind it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vergleichsring_fuzz::check(vergleichsring_ingest::Format::Parquet, data);
});
