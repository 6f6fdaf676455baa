//! Fuzzes the csv decoder and the validation behind it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vergleichsring_fuzz::check(vergleichsring_ingest::Format::Csv, data);
});
