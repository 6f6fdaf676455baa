//! A scan of every Parquet page header before anything is decoded. The
//! decoder trusts a page's declared sizes and value counts and allocates
//! for them up front: fuzzing found an 8.7 KB file whose dictionary page
//! declares 541 million values, which made the decoder allocate 4.3 GB.
//! The headers are Thrift compact structs; this reads just the fields it
//! needs (sizes and value counts) and skips the rest.

use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};

use crate::Limits;

/// A reader of the Thrift compact protocol over a byte slice.
struct Compact<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn advance(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        if self.bytes.len() - self.pos < n {
            return None;
        }
        self.pos += n;
        Some(())
    }

    /// Skips one value of compact type `ty`.
    fn skip(&mut self, ty: u8, depth: u32) -> Option<()> {
        if depth > 32 {
            return None;
        }
        match ty {
            1 | 2 => Some(()),
            3 => self.byte().map(|_| ()),
            4..=6 => self.varint().map(|_| ()),
            7 => self.advance(8),
            8 => {
                let len = self.varint()?;
                self.advance(len)
            }
            9 | 10 => {
                let h = self.byte()?;
                let size = match h >> 4 {
                    15 => self.varint()?,
                    s => u64::from(s),
                };
                let elem = h & 0x0f;
                for _ in 0..size {
                    // Booleans in lists take a byte each.
                    if matches!(elem, 1 | 2) {
                        self.byte()?;
                    } else {
                        self.skip(elem, depth + 1)?;
                    }
                }
                Some(())
            }
            11 => {
                let size = self.varint()?;
                if size > 0 {
                    let kv = self.byte()?;
                    for _ in 0..size {
                        self.skip(kv >> 4, depth + 1)?;
                        self.skip(kv & 0x0f, depth + 1)?;
                    }
                }
                Some(())
            }
            12 => self.fields(depth + 1, |r, _, ty| r.skip(ty, depth + 1)),
            _ => None,
        }
    }

    /// Reads the fields of a struct, handing each (id, type) to `field`.
    fn fields(
        &mut self,
        depth: u32,
        mut field: impl FnMut(&mut Self, i16, u8) -> Option<()>,
    ) -> Option<()> {
        let mut last: i16 = 0;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Some(());
            }
            let ty = h & 0x0f;
            let id = match h >> 4 {
                0 => i16::try_from(self.int()?).ok()?,
                delta => last.checked_add(i16::from(delta))?,
            };
            last = id;
            if depth > 32 {
                return None;
            }
            field(self, id, ty)?;
        }
    }
}

/// What a page header declares.
#[derive(Debug, Default)]
struct PageHeader {
    uncompressed: i64,
    compressed: i64,
    num_values: i64,
}

fn read_header(r: &mut Compact<'_>) -> Option<PageHeader> {
    let mut h = PageHeader::default();
    r.fields(0, |r, id, ty| match (id, ty) {
        (2, 5) => r.int().map(|v| h.uncompressed = v),
        (3, 5) => r.int().map(|v| h.compressed = v),
        // Data page (5), dictionary page (7), data page v2 (8): field 1 is num_values.
        (5 | 7 | 8, 12) => r.fields(1, |r, id, ty| match (id, ty) {
            (1, 5) => r.int().map(|v| h.num_values = h.num_values.max(v)),
            _ => r.skip(ty, 2),
        }),
        _ => r.skip(ty, 1),
    })?;
    Some(h)
}

/// Why a file is refused: the rule and the message.
type Refusal = (&'static str, String);

fn damaged(what: &str) -> Refusal {
    (
        "unreadable_file",
        format!("the Parquet file is damaged: {what}"),
    )
}

/// What the pages declare over the whole file so far: many pages that each
/// pass alone can still add up to a bomb.
#[derive(Debug, Default)]
struct Totals {
    unpacked: u64,
    pages: u64,
}

/// Checks every page header of every column chunk against the limits.
pub(crate) fn check(body: &[u8], meta: &ParquetMetaData, limits: &Limits) -> Result<(), Refusal> {
    let mut totals = Totals::default();
    for rg in meta.row_groups() {
        for col in rg.columns() {
            check_chunk(body, col, limits, &mut totals)?;
        }
    }
    Ok(())
}

/// Walks the page headers of one column chunk, from the first page to the
/// end of the chunk, each page by itself and the sums so far.
fn check_chunk(
    body: &[u8],
    col: &ColumnChunkMetaData,
    limits: &Limits,
    totals: &mut Totals,
) -> Result<(), Refusal> {
    let mut values: u64 = 0;
    let start = col
        .dictionary_page_offset()
        .unwrap_or(col.data_page_offset());
    let len = col.compressed_size();
    let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) else {
        return Err(damaged("a column chunk has a negative offset or size"));
    };
    let end = start
        .checked_add(len)
        .filter(|e| *e <= body.len())
        .ok_or_else(|| damaged("a column chunk lies outside the file"))?;
    let mut pos = start;
    while pos < end {
        let mut r = Compact {
            bytes: &body[..end],
            pos,
        };
        let h = read_header(&mut r).ok_or_else(|| damaged("a page header cannot be read"))?;
        check_page(&h, limits)?;
        totals.unpacked = totals.unpacked.saturating_add(h.uncompressed as u64);
        values = values.saturating_add(h.num_values as u64);
        totals.pages += 1;
        if totals.unpacked > limits.max_uncompressed_bytes {
            return Err((
                "decompression_bomb",
                format!(
                    "the pages would unpack to more than {} bytes",
                    limits.max_uncompressed_bytes
                ),
            ));
        }
        // A flat column has at most one value per row, plus a
        // dictionary that cannot be larger than the column.
        if values > 2 * limits.max_rows as u64 || totals.pages > limits.max_rows as u64 {
            return Err((
                "decompression_bomb",
                format!(
                    "a column declares more values or pages than the {} rows an upload may have",
                    limits.max_rows
                ),
            ));
        }
        pos = r
            .pos
            .checked_add(h.compressed as usize)
            .ok_or_else(|| damaged("a page size overflows"))?;
    }
    Ok(())
}

/// Checks what one page header declares: sizes that are not negative, and
/// no more bytes or values than a whole upload may have.
fn check_page(h: &PageHeader, limits: &Limits) -> Result<(), Refusal> {
    if h.compressed < 0 || h.uncompressed < 0 || h.num_values < 0 {
        return Err(damaged("a page declares a negative size"));
    }
    if h.uncompressed as u64 > limits.max_uncompressed_bytes {
        return Err((
            "decompression_bomb",
            format!(
                "a page would unpack to {} bytes, more than the limit of {}",
                h.uncompressed, limits.max_uncompressed_bytes
            ),
        ));
    }
    if h.num_values as u64 > limits.max_rows as u64 {
        return Err((
            "decompression_bomb",
            format!(
                "a page declares {} values, more than the {} rows an upload may have",
                h.num_values, limits.max_rows
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header as the compact protocol writes it: type, sizes, and a
    /// dictionary page header with `num_values`.
    fn header(uncompressed: i32, compressed: i32, num_values: i32) -> Vec<u8> {
        fn zigzag(v: i32) -> Vec<u8> {
            let mut n = ((v << 1) ^ (v >> 31)) as u32;
            let mut out = Vec::new();
            loop {
                if n < 0x80 {
                    out.push(n as u8);
                    return out;
                }
                out.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
        }
        let mut b = vec![0x15];
        b.extend(zigzag(2)); // field 1: type = DICTIONARY_PAGE
        b.push(0x15);
        b.extend(zigzag(uncompressed));
        b.push(0x15);
        b.extend(zigzag(compressed));
        b.push(0x4c); // field 7 (delta 4), struct
        b.push(0x15);
        b.extend(zigzag(num_values));
        b.push(0x15);
        b.extend(zigzag(0)); // encoding
        b.push(0x00); // end of dictionary page header
        b.push(0x00); // end of page header
        b
    }

    #[test]
    fn headers_are_read_and_sizes_checked() {
        let h = header(1000, 10, 5);
        let mut r = Compact { bytes: &h, pos: 0 };
        let parsed = read_header(&mut r).unwrap();
        assert_eq!(
            (parsed.uncompressed, parsed.compressed, parsed.num_values),
            (1000, 10, 5)
        );
        assert_eq!(r.pos, h.len());
        let huge = header(100, 10, 541_000_000);
        let mut r = Compact {
            bytes: &huge,
            pos: 0,
        };
        assert_eq!(read_header(&mut r).unwrap().num_values, 541_000_000);
        // Truncated headers are refused, not read past their end.
        let mut r = Compact {
            bytes: &h[..5],
            pos: 0,
        };
        assert!(read_header(&mut r).is_none());
    }
}
