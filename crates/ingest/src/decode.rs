//! From bytes to one Arrow batch, by format.

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{IngestError, RowError};

/// The upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
}

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
            _ => Err(IngestError::UnsupportedFormat(essence)),
        }
    }
}

/// Decodes an upload body into one batch.
pub fn decode(format: Format, body: Bytes) -> Result<RecordBatch, IngestError> {
    match format {
        Format::Parquet => decode_parquet(body),
    }
}

fn unreadable(message: String) -> IngestError {
    IngestError::Rejected(vec![RowError::file("unreadable_file", message)])
}

fn decode_parquet(body: Bytes) -> Result<RecordBatch, IngestError> {
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
    let builder = ParquetRecordBatchReaderBuilder::try_new(body)
        .map_err(|e| unreadable(format!("the Parquet file cannot be read: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder
        .build()
        .map_err(|e| unreadable(format!("the Parquet file cannot be read: {e}")))?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(
            batch.map_err(|e| unreadable(format!("the Parquet data cannot be decoded: {e}")))?,
        );
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
            Format::from_content_type("application/json; charset=utf-8"),
            Err(IngestError::UnsupportedFormat(t)) if t == "application/json"
        ));
    }

    #[test]
    fn garbage_is_refused_with_a_message() {
        for body in [
            &b""[..],
            b"hello",
            b"PAR1\0\0\0\0\0\0\0\0PAR1",
            b"PAR1garbagegarbagePAR1",
        ] {
            match decode(Format::Parquet, Bytes::copy_from_slice(body)) {
                Err(IngestError::Rejected(errors)) => assert_eq!(errors.len(), 1),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
