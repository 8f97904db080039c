//! An array's preview, rendered when it is shown, from its stored chunks.
//!
//! The capture agent no longer formats arrays (numpy's `array2string` was
//! about a third of a snapshot's time, issue #16): a few elements at the
//! edges of each axis are read here (only the chunks that hold them), in the
//! layout numpy prints with `threshold=8, edgeitems=2, precision=4`.

use std::collections::HashMap;

use snapline_array_scan::CHUNK_SIZE;
use snapline_store::{ObjectKind, ObjectRecord, Store};

use crate::diff::array::{fortran, ElementKind};

/// Arrays with more elements than this show only the edges of each axis.
const THRESHOLD: u64 = 8;
/// Elements shown at each end of a summarized axis.
const EDGE: u64 = 2;

/// The preview of an array record, or None when it cannot be read (a chunk
/// missing, an element type that is not numeric): display goes on without.
pub(crate) fn render(store: &Store, record: &ObjectRecord) -> Option<String> {
    if record.kind != ObjectKind::Array {
        return None;
    }
    let kind = ElementKind::of(record);
    if !kind.numeric() {
        return None;
    }
    let shape: Vec<u64> = record
        .shape
        .as_deref()?
        .iter()
        .map(|&n| u64::try_from(n).ok())
        .collect::<Option<_>>()?;
    let count: u64 = shape.iter().product();
    if count.checked_mul(kind.size() as u64)? != record.nbytes {
        return None;
    }
    let mut reader = Elements {
        store,
        record,
        kind,
        fortran: fortran(record),
        shape: &shape,
        chunks: HashMap::new(),
    };
    let integral = record
        .dtype
        .as_deref()
        .is_some_and(|d| d.starts_with("int") || d.starts_with("uint"));
    let boolean = record.dtype.as_deref() == Some("bool");
    let format = |v: f64| {
        if boolean {
            (if v != 0.0 { "True" } else { "False" }).to_owned()
        } else if integral {
            format!("{v:.0}")
        } else {
            float_text(v)
        }
    };
    let mut index = Vec::with_capacity(shape.len());
    let mut out = String::new();
    let summarize = count > THRESHOLD;
    reader.write(&mut out, &mut index, summarize, &format)?;
    Some(out)
}

struct Elements<'a> {
    store: &'a Store,
    record: &'a ObjectRecord,
    kind: ElementKind,
    fortran: bool,
    shape: &'a [u64],
    chunks: HashMap<usize, Vec<u8>>,
}

impl Elements<'_> {
    fn write(
        &mut self,
        out: &mut String,
        index: &mut Vec<u64>,
        summarize: bool,
        format: &dyn Fn(f64) -> String,
    ) -> Option<()> {
        let axis = index.len();
        if axis == self.shape.len() {
            let value = self.element(index)?;
            out.push_str(&format(value));
            return Some(());
        }
        let len = self.shape[axis];
        let cut = summarize && len > 2 * EDGE;
        let shown: Vec<u64> = if cut {
            (0..EDGE).chain(len - EDGE..len).collect()
        } else {
            (0..len).collect()
        };
        // Rows of an inner axis go on their own lines, indented under "[".
        let separator = if axis + 1 == self.shape.len() {
            " ".to_owned()
        } else {
            let blank_lines = self.shape.len() - axis - 1;
            format!("{}{}", "\n".repeat(blank_lines), " ".repeat(axis + 1))
        };
        out.push('[');
        for (n, &i) in shown.iter().enumerate() {
            if n > 0 {
                out.push_str(&separator);
            }
            if cut && n == EDGE as usize {
                out.push_str("...");
                out.push_str(&separator);
            }
            index.push(i);
            self.write(out, index, summarize, format)?;
            index.pop();
        }
        out.push(']');
        Some(())
    }

    /// The element at a C-order multi-index, from its chunk.
    fn element(&mut self, index: &[u64]) -> Option<f64> {
        let flat = if self.fortran {
            index
                .iter()
                .zip(self.shape)
                .rev()
                .fold(0u64, |acc, (&i, &n)| acc * n + i)
        } else {
            index
                .iter()
                .zip(self.shape)
                .fold(0u64, |acc, (&i, &n)| acc * n + i)
        };
        let size = self.kind.size();
        let offset = usize::try_from(flat).ok()?.checked_mul(size)?;
        let chunk = offset / CHUNK_SIZE;
        if !self.chunks.contains_key(&chunk) {
            let hash = self.record.chunks.get(chunk)?;
            let bytes = self.store.read_chunk(hash).ok()?;
            self.chunks.insert(chunk, bytes);
        }
        let bytes = self.chunks.get(&chunk)?;
        let at = offset % CHUNK_SIZE;
        Some(self.kind.value(bytes.get(at..at + size)?))
    }
}

/// A float as numpy prints it at precision 4: `0.1235`, `1.`, `-2.5`,
/// `1.e+10`, `nan`, `inf`.
fn float_text(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let magnitude = v.abs();
    if magnitude != 0.0 && !(1e-4..1e8).contains(&magnitude) {
        let text = format!("{v:.4e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = trim_zeros(mantissa);
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    trim_zeros(&format!("{v:.4}"))
}

fn trim_zeros(text: &str) -> String {
    if !text.contains('.') {
        return format!("{text}.");
    }
    text.trim_end_matches('0').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_like_numpy() {
        assert_eq!(float_text(0.123456), "0.1235");
        assert_eq!(float_text(1.0), "1.");
        assert_eq!(float_text(-2.5), "-2.5");
        assert_eq!(float_text(0.0), "0.");
        assert_eq!(float_text(f64::NAN), "nan");
        assert_eq!(float_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(float_text(1e10), "1.e+10");
        assert_eq!(float_text(-3.5e-7), "-3.5e-07");
    }
}
