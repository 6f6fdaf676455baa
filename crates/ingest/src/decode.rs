//! The first stage of an upload: from the body's bytes to one Arrow batch,
//! by format (the `Format` of its content type). Parquet is decoded here;
//! CSV and XLSX have their own files. Every decoder checks the limits
//! before it allocates for what a file declares.

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;

use crate::table::Decoded;
use crate::{IngestError, Limits, RowError};

/// The upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// CSV text.
    Csv,
    /// Excel workbook (Office Open XML).
    Xlsx,
}

/// The XLSX media type.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Format {
    /// The format of a `Content-Type` header value (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Result<Format, IngestError> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/vnd.apache.parquet" | "application/x-parquet" | "application/parquet" => {
                Ok(Format::Parquet)
            }
            "text/csv" | "application/csv" | "text/comma-separated-values" => Ok(Format::Csv),
            XLSX_TYPE => Ok(Format::Xlsx),
            _ => Err(IngestError::UnsupportedFormat(essence)),
        }
    }

    /// The format of a file name's extension, for the command line.
    pub fn from_extension(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" | "txt" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The media type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Csv => "text/csv",
            Format::Xlsx => XLSX_TYPE,
        }
    }

    /// A short name, stored with each submission.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Decodes an upload body into one batch, within the limits.
///
/// The decoders of damaged files are third-party code that can panic (the
/// fuzz targets found two such panics in parquet and arrow-ipc 59.3); a panic
/// is caught here and the file refused as unreadable, so no caller ever sees
/// one.
pub fn decode(format: Format, body: Bytes, limits: &Limits) -> Result<Decoded, IngestError> {
    let run = std::panic::AssertUnwindSafe(|| match format {
        Format::Parquet => decode_parquet(body, limits).map(|batch| Decoded {
            batch,
            cell_errors: Vec::new(),
        }),
        Format::Csv => crate::csv_file::decode(&body, limits),
        Format::Xlsx => crate::xlsx_file::decode(&body, limits),
    });
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        Err(unreadable(
            "the file could not be decoded; it is damaged or written in a way the decoder does not support".into(),
        ))
    })
}

fn unreadable(message: String) -> IngestError {
    IngestError::Rejected(vec![RowError::file("unreadable_file", message)])
}

/// Decodes a Parquet upload: the magic bytes, then the declared metadata
/// and every page header against the limits, and only then the data.
fn decode_parquet(body: Bytes, limits: &Limits) -> Result<RecordBatch, IngestError> {
    if body.is_empty() {
        return Err(IngestError::Rejected(vec![RowError::file(
            "empty_upload",
            "the request body is empty: send the Parquet file as the body",
        )]));
    }
    if body.len() < 12 || &body[..4] != b"PAR1" || &body[body.len() - 4..] != b"PAR1" {
        return Err(unreadable(
            "the body is not a Parquet file (it does not start and end with the magic bytes PAR1)"
                .into(),
        ));
    }
    // The Arrow schema some writers embed in the metadata is not needed (every
    // figure is cast to f64), and decoding it can panic on damaged files
    // (arrow-ipc 59 unwraps missing flatbuffer fields; found by fuzzing).
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let body_for_pages = body.clone();
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(body, options)
        .map_err(|e| unreadable(format!("the Parquet file cannot be read: {e}")))?;
    check_metadata(builder.metadata(), limits)?;
    // The decoder allocates what page headers declare: check them first.
    if let Err((rule, message)) = crate::pages::check(&body_for_pages, builder.metadata(), limits) {
        return Err(IngestError::Rejected(vec![RowError::file(rule, message)]));
    }
    read_batches(builder, limits)
}

/// Refuses absurd metadata before decoding a single page: declared rows,
/// columns and the unpacked size of all column chunks.
fn check_metadata(meta: &ParquetMetaData, limits: &Limits) -> Result<(), IngestError> {
    let rows: i64 = meta.row_groups().iter().map(|rg| rg.num_rows()).sum();
    if rows < 0 || rows as u64 > limits.max_rows as u64 {
        return Err(IngestError::Rejected(vec![RowError::file(
            "too_many_rows",
            format!(
                "the file declares {rows} rows; at most {} are accepted per upload",
                limits.max_rows
            ),
        )]));
    }
    let columns = meta.file_metadata().schema_descr().num_columns();
    if columns > limits.max_columns {
        return Err(IngestError::Rejected(vec![RowError::file(
            "too_many_columns",
            format!(
                "the file has {columns} columns; at most {} are accepted",
                limits.max_columns
            ),
        )]));
    }
    let unpacked: i64 = meta
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().map(|c| c.uncompressed_size().max(0)))
        .sum();
    if unpacked as u64 > limits.max_uncompressed_bytes {
        return Err(IngestError::Rejected(vec![RowError::file(
            "decompression_bomb",
            format!(
                "the file would unpack to {unpacked} bytes, more than the limit of {}",
                limits.max_uncompressed_bytes
            ),
        )]));
    }
    Ok(())
}

/// Decodes the checked file into one batch, counting the rows as they come.
fn read_batches(
    builder: ParquetRecordBatchReaderBuilder<Bytes>,
    limits: &Limits,
) -> Result<RecordBatch, IngestError> {
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| unreadable(format!("the Parquet file cannot be read: {e}")))?;
    let mut batches = Vec::new();
    let mut decoded_rows = 0usize;
    for batch in reader {
        let batch =
            batch.map_err(|e| unreadable(format!("the Parquet data cannot be decoded: {e}")))?;
        decoded_rows += batch.num_rows();
        // Declared counts can lie; the decoded ones cannot.
        if decoded_rows > limits.max_rows {
            return Err(IngestError::Rejected(vec![RowError::file(
                "too_many_rows",
                format!("the file has more than {} rows", limits.max_rows),
            )]));
        }
        batches.push(batch);
    }
    concat_batches(&schema, &batches)
        .map_err(|e| unreadable(format!("the Parquet data cannot be combined: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_map_to_formats() {
        assert!(matches!(
            Format::from_content_type("application/vnd.apache.parquet"),
            Ok(Format::Parquet)
        ));
        assert!(matches!(
            Format::from_content_type("text/csv; charset=windows-1252"),
            Ok(Format::Csv)
        ));
        assert!(matches!(
            Format::from_content_type(XLSX_TYPE),
            Ok(Format::Xlsx)
        ));
        assert!(matches!(
            Format::from_content_type("application/json; charset=utf-8"),
            Err(IngestError::UnsupportedFormat(t)) if t == "application/json"
        ));
        assert_eq!(
            Format::from_extension("zahlen_2024.XLSX"),
            Some(Format::Xlsx)
        );
        assert_eq!(Format::from_extension("noext"), None);
    }

    #[test]
    fn a_damaged_embedded_arrow_schema_does_not_panic() {
        // Found by `cargo fuzz run decode_parquet`: arrow-ipc panicked on it.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/uploads/bad/fuzz_damaged_arrow_schema.parquet"
        );
        let bytes = std::fs::read(path).unwrap();
        let _ = decode(Format::Parquet, Bytes::from(bytes), &Limits::default());
    }

    #[test]
    fn a_decoder_panic_on_a_damaged_page_is_refused() {
        // Found by `cargo fuzz run decode_parquet`: parquet 59.3 indexes past a
        // fixed-length dictionary page.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/uploads/bad/fuzz_damaged_fixed_len_page.parquet"
        );
        let bytes = std::fs::read(path).unwrap();
        match decode(Format::Parquet, Bytes::from(bytes), &Limits::default()) {
            Err(IngestError::Rejected(e)) => assert_eq!(e[0].rule, "unreadable_file"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_page_declaring_millions_of_values_is_refused_before_decoding() {
        // Found by `cargo fuzz run decode_parquet`: 8.7 KB that made the
        // decoder allocate 4.3 GB for a dictionary.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/uploads/bad/fuzz_huge_dictionary.parquet"
        );
        let bytes = std::fs::read(path).unwrap();
        match decode(Format::Parquet, Bytes::from(bytes), &Limits::default()) {
            // Refused by the page scan, before the decoder could allocate.
            Err(IngestError::Rejected(e)) => assert!(e[0].message.contains("page"), "{e:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn garbage_is_refused_with_a_message() {
        let limits = Limits::default();
        for body in [
            &b""[..],
            b"hello",
            b"PAR1\0\0\0\0\0\0\0\0PAR1",
            b"PAR1garbagegarbagePAR1",
        ] {
            match decode(Format::Parquet, Bytes::copy_from_slice(body), &limits) {
                Err(IngestError::Rejected(errors)) => assert_eq!(errors.len(), 1),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
