//! The preview of a plain value or of a list, tuple, dict or set, rendered
//! when it is shown, from its record and its items' records: the agent no
//! longer formats them at capture (issue #16: previews were a tenth of an
//! epoch snapshot's time, most of it optimizer-state dicts).
//!
//! The text is what the agent's `values.preview` gave: Python's reprlib
//! with its limits (a string's first and last characters up to 80, 8 items
//! of a container, 3 levels, 200 characters in all), an array or tensor
//! inside a container shown by its shape and dtype (one element: its
//! value), and what the agent still renders itself (objects with a repr of
//! their own, pickles, long values) cut to 80 characters as reprlib cuts a
//! repr. An object whose class keeps `object.__repr__` shows its class and
//! attributes, `Config(lr=0.001, name='a')`, not `<Config object at 0x...>`.

use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine;
use serde_json::{Number, Value};
use snapline_array_scan::CHUNK_SIZE;
use snapline_store::{Child, ObjectKind, ObjectRecord, Store};

use super::{array_preview, value_text};
use crate::diff::array::ElementKind;

/// Levels of nesting shown (reprlib `maxlevel`).
const LEVELS: u32 = 3;
/// Items shown of a container (reprlib `maxlist`, `maxdict`...).
const ITEMS: usize = 8;
/// A string's repr, and any other repr, is cut to this (`maxstring`, `maxother`).
const REPR_CHARS: usize = 80;
/// An integer's digits are cut to this (`maxlong`).
const INT_CHARS: usize = 40;
/// The whole preview is cut to this (`values.PREVIEW_CHARS`).
const PREVIEW_CHARS: usize = 200;
/// A set up to this size shows its items sorted (when they are all numbers or all strings).
const SORTED_UP_TO: usize = 64;

/// Renders previews, keeping the records of the items it read (one listing
/// shows many variables that share items).
pub(crate) struct Previews<'a> {
    store: &'a Store,
    records: HashMap<String, Option<Rc<ObjectRecord>>>,
}

impl<'a> Previews<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Previews {
            store,
            records: HashMap::new(),
        }
    }

    /// A record's preview: the one stored with it, else rendered here (an
    /// array from its chunks, `array_preview.rs`; a value or a container
    /// from its items). Empty when there is none to render.
    pub(crate) fn of(&mut self, record: &ObjectRecord) -> String {
        if record.kind == ObjectKind::Array && record.preview.is_empty() {
            return array_preview::render(self.store, record).unwrap_or_default();
        }
        self.without_arrays(record)
    }

    /// `of`, less an array's (which reads its chunks): a diff lists many.
    pub(crate) fn without_arrays(&mut self, record: &ObjectRecord) -> String {
        if !record.preview.is_empty() {
            return record.preview.clone();
        }
        match record.kind {
            ObjectKind::Value | ObjectKind::Container | ObjectKind::Instance => self
                .inside(record, LEVELS)
                .map(|text| cut_end(&text, PREVIEW_CHARS))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// A record's text at `level` levels from the bottom.
    fn inside(&mut self, record: &ObjectRecord, level: u32) -> Option<String> {
        match record.kind {
            ObjectKind::Value => match &record.value {
                Some(v) => Some(value(v, level)),
                None => stored(record),
            },
            ObjectKind::Container => self.container(record, level),
            ObjectKind::Array => Some(array_text(self.store, record)),
            ObjectKind::Instance if record.preview.is_empty() => self.instance(record, level),
            _ => stored(record),
        }
    }

    /// An object whose class keeps `object.__repr__` (`<Config object at
    /// 0x7f...>`, which says nothing once the program is gone): its class
    /// and attributes, as a dataclass prints, `Config(lr=0.001, name='a')`.
    fn instance(&mut self, record: &ObjectRecord, level: u32) -> Option<String> {
        let name = record
            .extra
            .get("class")
            .and_then(|c| c.get("qualname"))
            .and_then(Value::as_str)
            .or_else(|| record.type_name.rsplit('.').next())?
            .to_owned();
        if record.children.is_empty() {
            return Some(format!("{name}()"));
        }
        if level == 0 {
            return Some(format!("{name}(...)"));
        }
        let pieces = until_cut(record.children.iter().take(ITEMS).map(|c| {
            let key = c.key.as_str().unwrap_or("?");
            format!("{key}={}", self.item(c, level - 1))
        }));
        let more = if record.children.len() > pieces.len() {
            ", ..."
        } else {
            ""
        };
        Some(format!("{name}({}{more})", pieces.join(", ")))
    }

    fn record(&mut self, hash: &str) -> Option<Rc<ObjectRecord>> {
        if let Some(known) = self.records.get(hash) {
            return known.clone();
        }
        let read = self.store.object(hash).ok().map(Rc::new);
        self.records.insert(hash.to_owned(), read.clone());
        read
    }

    fn item(&mut self, child: &Child, level: u32) -> String {
        match (&child.value, &child.hash) {
            (Some(v), _) => value(v, level),
            (None, Some(hash)) => self
                .record(hash)
                .and_then(|r| self.inside(&r, level))
                .unwrap_or_else(|| "...".to_owned()),
            // A cycle (`a.append(a)`): Python's repr shows it as "...".
            (None, None) => "...".to_owned(),
        }
    }

    fn container(&mut self, record: &ObjectRecord, level: u32) -> Option<String> {
        let shape = Shape::of(&record.type_name)?;
        let children = &record.children;
        if children.is_empty() {
            return Some(shape.empty.to_owned());
        }
        if level == 0 {
            return Some(format!("{}...{}", shape.left, shape.right));
        }
        let mut order: Vec<&Child> = children.iter().collect();
        if shape.set {
            sort_like_python(&mut order, |c| c.value.as_ref());
        }
        let dict = record.type_name == "dict";
        let pieces = until_cut(order.iter().take(ITEMS).map(|c| {
            let shown = self.item(c, level - 1);
            if dict {
                format!("{}: {shown}", value(&c.key, level - 1))
            } else {
                shown
            }
        }));
        Some(shape.join(pieces, children.len()))
    }
}

/// The preview the agent stored, cut as reprlib cuts a repr inside a container.
fn stored(record: &ObjectRecord) -> Option<String> {
    (!record.preview.is_empty()).then(|| cut_middle(&record.preview, REPR_CHARS))
}

/// How a container type prints.
struct Shape {
    left: &'static str,
    right: &'static str,
    empty: &'static str,
    /// `(1,)`: a one-item tuple's comma.
    trail: &'static str,
    set: bool,
}

impl Shape {
    fn of(type_name: &str) -> Option<Shape> {
        let (left, right, empty) = match type_name {
            "list" => ("[", "]", "[]"),
            "tuple" => ("(", ")", "()"),
            "dict" => ("{", "}", "{}"),
            "set" => ("{", "}", "set()"),
            "frozenset" => ("frozenset({", "})", "frozenset()"),
            _ => return None,
        };
        Some(Shape {
            left,
            right,
            empty,
            trail: if type_name == "tuple" { "," } else { "" },
            set: type_name.ends_with("set"),
        })
    }

    /// The items shown, and "..." for those left out (as reprlib writes them).
    fn join(&self, mut pieces: Vec<String>, total: usize) -> String {
        if total > pieces.len() {
            pieces.push("...".to_owned());
        }
        let trail = if total == 1 { self.trail } else { "" };
        format!("{}{}{trail}{}", self.left, pieces.join(", "), self.right)
    }
}

/// The pieces up to the first that takes their text (with ", " between)
/// past PREVIEW_CHARS: the preview is cut there, so later items are not
/// rendered (`values._until_cut`).
fn until_cut(pieces: impl Iterator<Item = String>) -> Vec<String> {
    let mut taken = Vec::new();
    let mut length = 0;
    for piece in pieces {
        length += piece.chars().count() + 2;
        taken.push(piece);
        if length > PREVIEW_CHARS {
            break;
        }
    }
    taken
}

/// Python sorts a small set to show it; its items are sorted here when
/// they are plain numbers or plain strings (other items keep their order).
fn sort_like_python<T>(items: &mut [T], value_of: impl Fn(&T) -> Option<&Value>) {
    if items.len() > SORTED_UP_TO {
        return;
    }
    if items
        .iter()
        .all(|i| value_of(i).and_then(plain_number).is_some())
    {
        items.sort_by(|a, b| {
            let (x, y) = (
                value_of(a).and_then(plain_number),
                value_of(b).and_then(plain_number),
            );
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
        });
    } else if items
        .iter()
        .all(|i| matches!(value_of(i), Some(Value::String(_))))
    {
        items.sort_by(|a, b| {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            text(value_of(a)).cmp(&text(value_of(b)))
        });
    }
}

fn plain_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// An agent tag's content: `{"$tuple": [...]}` -> `[...]` (a tag alone in its object).
fn tag<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    value_text::tag(v, name, 1)
}

/// Python's reprlib text of a tagged JSON value (docs/store-format.md).
fn value(v: &Value, level: u32) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Number(n) => number(n),
        Value::String(s) => string(&ends(s)),
        Value::Array(items) => sequence(items, level, Shape::of("list")),
        Value::Object(map) => {
            if let Some(Value::Array(items)) = tag(v, "$tuple") {
                return sequence(items, level, Shape::of("tuple"));
            }
            if let Some(Value::Array(pairs)) = tag(v, "$dict") {
                return dict(pairs.iter().filter_map(pair), pairs.len(), level);
            }
            for name in ["set", "frozenset"] {
                if let Some(Value::Array(items)) = tag(v, &format!("${name}")) {
                    let mut order: Vec<&Value> = items.iter().collect();
                    sort_like_python(&mut order, |v| Some(*v));
                    return sequence_of(&order, level, Shape::of(name));
                }
            }
            if let Some(text) = tag(v, "$bytes").and_then(Value::as_str) {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap_or_default();
                return cut_middle(&bytes(&raw), REPR_CHARS);
            }
            if let Some(text) = tag(v, "$str").and_then(Value::as_str) {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap_or_default();
                return string(&code_points(&raw));
            }
            if let Some(digits) = tag(v, "$int").and_then(Value::as_str) {
                return cut_middle(digits, INT_CHARS);
            }
            if let Some(name) = tag(v, "$float").and_then(Value::as_str) {
                return name.to_owned(); // nan, inf, -inf
            }
            if let Some(Value::Array(parts)) = tag(v, "$complex") {
                let part = |i: usize| {
                    parts
                        .get(i)
                        .and_then(value_text::number)
                        .unwrap_or(f64::NAN)
                };
                return complex(part(0), part(1));
            }
            if let (Some(dtype), Some(inner)) =
                (map.get("$np").and_then(Value::as_str), map.get("v"))
            {
                return cut_middle(&numpy_scalar(dtype, inner), REPR_CHARS);
            }
            if let Some(text) = tag(v, "$repr").and_then(Value::as_str) {
                return text.to_owned(); // a key that is not a value: its preview
            }
            // An untagged dict with string keys (records of early agents).
            let keys: Vec<Value> = map.keys().map(|k| Value::String(k.clone())).collect();
            dict(keys.iter().zip(map.values()), map.len(), level)
        }
    }
}

fn pair(p: &Value) -> Option<(&Value, &Value)> {
    match p.as_array().map(Vec::as_slice) {
        Some([k, v]) => Some((k, v)),
        _ => None,
    }
}

fn sequence(items: &[Value], level: u32, shape: Option<Shape>) -> String {
    sequence_of(&items.iter().collect::<Vec<_>>(), level, shape)
}

fn sequence_of(items: &[&Value], level: u32, shape: Option<Shape>) -> String {
    let Some(shape) = shape else {
        return "...".to_owned();
    };
    if items.is_empty() {
        return shape.empty.to_owned();
    }
    if level == 0 {
        return format!("{}...{}", shape.left, shape.right);
    }
    let pieces = until_cut(items.iter().take(ITEMS).map(|v| value(v, level - 1)));
    shape.join(pieces, items.len())
}

fn dict<'v>(
    pairs: impl Iterator<Item = (&'v Value, &'v Value)>,
    total: usize,
    level: u32,
) -> String {
    if total == 0 {
        return "{}".to_owned();
    }
    if level == 0 {
        return "{...}".to_owned();
    }
    let pieces = until_cut(
        pairs
            .take(ITEMS)
            .map(|(k, v)| format!("{}: {}", value(k, level - 1), value(v, level - 1))),
    );
    Shape::of("dict").map_or_else(String::new, |s| s.join(pieces, total))
}

fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    python_float(n.as_f64().unwrap_or(f64::NAN))
}

/// Python's `repr(float)`: the shortest digits that read back, positional
/// from 1e-4 up to 1e16, else `1e+16`, `1.5e-05`.
pub(crate) fn python_float(v: f64) -> String {
    float_text(v, nearest(format!("{v:e}"), |p| format!("{v:.p$e}")), 16)
}

/// Of the digits as short as `shortest` that read back, the ones nearest
/// the value, which Python picks (`format(x, ".Ne")` is correctly rounded;
/// the shortest form Rust writes need not be the nearest).
fn nearest(shortest: String, at_precision: impl Fn(usize) -> String) -> String {
    let mantissa = shortest.split('e').next().unwrap_or_default();
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    at_precision(digits.saturating_sub(1))
}

/// A float as Python (and numpy) write it, from its shortest digits in
/// Rust's `{:e}` form (`-1.2345e-7`); positional below `10^up_to`.
fn float_text(v: f64, shortest: String, up_to: i32) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let (mantissa, exponent) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if v == 0.0 || (-4..up_to).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        return if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else {
            let point = point as usize;
            if digits.len() > point {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            } else {
                format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
            }
        };
    }
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let fraction = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs())
}

/// Python's `repr(complex)`: `1j`, `(1+2j)`, `(1.5-0j)`.
fn complex(re: f64, im: f64) -> String {
    let short = |x: f64| {
        let text = python_float(x);
        text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
    };
    let imag = short(im);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let joint = if imag.starts_with('-') { "" } else { "+" };
    format!("({}{joint}{imag}j)", short(re))
}

/// numpy 2's repr of a scalar: `np.float32(0.1)`, `np.int64(3)`, `np.True_`.
/// Floats switch to `1e+06` as numpy 2.4 writes them: from 10^6 for float32
/// and 10^3 for float16 (numpy 2.0 kept both positional up to 10^16).
fn numpy_scalar(dtype: &str, inner: &Value) -> String {
    let x = value_text::number(inner);
    let text = match (dtype, x) {
        ("bool", _) => {
            return if inner.as_bool() == Some(true) {
                "np.True_"
            } else {
                "np.False_"
            }
            .to_owned()
        }
        ("float32", Some(x)) => {
            let x32 = x as f32;
            float_text(x, nearest(format!("{x32:e}"), |p| format!("{x32:.p$e}")), 6)
        }
        ("float16", Some(x)) => float_text(x, float16_digits(x), 3),
        ("float64", Some(x)) => python_float(x),
        (d, _) if d.starts_with("complex") => match inner.get("$complex") {
            Some(Value::Array(p)) => {
                let part = |i: usize| p.get(i).and_then(value_text::number).unwrap_or(f64::NAN);
                let text = complex(part(0), part(1));
                text.strip_prefix('(')
                    .and_then(|t| t.strip_suffix(')'))
                    .map(str::to_owned)
                    .unwrap_or(text)
            }
            _ => value(inner, 0),
        },
        _ => value(inner, 0),
    };
    format!("np.{dtype}({text})")
}

/// The shortest digits (`{:e}` form) that read back as the same float16.
fn float16_digits(x: f64) -> String {
    let target = half::f16::from_f64(x);
    (0..5)
        .map(|precision| format!("{x:.precision$e}"))
        .find(|text| text.parse::<f64>().ok().map(half::f16::from_f64) == Some(target))
        .unwrap_or_else(|| format!("{x:e}"))
}

/// A one-element array's value, else its shape and dtype
/// (`tensor(shape=[128, 32], dtype=float32)`), as `values._array_text`.
fn array_text(store: &Store, record: &ObjectRecord) -> String {
    let torch = record.extra.get("framework").and_then(Value::as_str) == Some("torch");
    let name = if torch { "tensor" } else { "array" };
    let shape = record.shape.clone().unwrap_or_default();
    let on_host = !torch
        || record
            .extra
            .get("device")
            .and_then(Value::as_str)
            .is_none_or(|d| d == "cpu");
    if on_host && shape.iter().product::<i64>() == 1 && shape.len() <= 1 {
        if let Some(text) = element_text(store, record) {
            return format!("{name}({text})");
        }
    }
    let dtype = record.dtype.as_deref().unwrap_or("?");
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("{name}(shape=[{}], dtype={dtype})", dims.join(", "))
}

/// The one element of an array, as Python writes its `.item()`.
fn element_text(store: &Store, record: &ObjectRecord) -> Option<String> {
    let kind = ElementKind::of(record);
    if !kind.numeric() || record.nbytes != kind.size() as u64 || kind.size() > CHUNK_SIZE {
        return None;
    }
    let bytes = store.read_chunk(record.chunks.first()?).ok()?;
    let x = kind.value(bytes.get(..kind.size())?);
    let dtype = record.dtype.as_deref().unwrap_or_default();
    Some(if dtype == "bool" {
        (if x != 0.0 { "True" } else { "False" }).to_owned()
    } else if dtype.starts_with("int") || dtype.starts_with("uint") {
        format!("{x:.0}")
    } else {
        python_float(x)
    })
}

/// Python's `repr(str)` as reprlib cuts it: the first and last characters
/// up to 80 in all.
fn string(chars: &[u32]) -> String {
    let text = quoted(&chars[..chars.len().min(REPR_CHARS)]);
    if text.chars().count() <= REPR_CHARS {
        return text;
    }
    let head = (REPR_CHARS - 3) / 2;
    let tail = REPR_CHARS - 3 - head;
    let mut kept = chars[..head.min(chars.len())].to_vec();
    kept.extend_from_slice(&chars[chars.len().saturating_sub(tail)..]);
    let text: Vec<char> = quoted(&kept).chars().collect();
    let mut out: String = text[..head.min(text.len())].iter().collect();
    out.push_str("...");
    out.extend(&text[text.len().saturating_sub(tail)..]);
    out
}

/// The code points of a string that `string` reads: all of a short one; of
/// a long one its first 80 and last 39 (what reprlib keeps), so that a
/// long string costs no copy of it.
fn ends(s: &str) -> Vec<u32> {
    let mut kept: Vec<u32> = s.chars().take(2 * REPR_CHARS).map(u32::from).collect();
    if kept.len() == 2 * REPR_CHARS {
        let count = s.chars().count();
        if count > kept.len() {
            kept.truncate(REPR_CHARS);
            let tail = REPR_CHARS - 3 - (REPR_CHARS - 3) / 2;
            kept.extend(s.chars().skip(count - tail).map(u32::from));
        }
    }
    kept
}

/// Python's repr of a string given as code points (lone surrogates kept).
fn quoted(chars: &[u32]) -> String {
    let single = u32::from('\'');
    let double = u32::from('"');
    let quote = if chars.contains(&single) && !chars.contains(&double) {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(chars.len() + 2);
    out.push(quote);
    for &code in chars {
        match char::from_u32(code) {
            Some(c) if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some(c) if printable(c) => out.push(c),
            _ if code < 0x100 => out.push_str(&format!("\\x{code:02x}")),
            _ if code < 0x10000 => out.push_str(&format!("\\u{code:04x}")),
            _ => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character, near enough for a
/// preview: control characters, separators other than the space, and the
/// common invisible formatting characters are escaped.
fn printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{feff}')
        || ('\u{e000}'..='\u{f8ff}').contains(&c))
}

/// The code points of UTF-8 that may hold lone surrogates (encoded with
/// Python's `surrogatepass`, the `$str` tag).
fn code_points(raw: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.extend(text.chars().map(u32::from));
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.extend(
                    std::str::from_utf8(good)
                        .unwrap_or_default()
                        .chars()
                        .map(u32::from),
                );
                // A surrogate is three bytes: 1110_1101 10xx_xxxx 10xx_xxxx.
                if let [a @ 0xED, b, c, ..] = bad {
                    out.push(
                        (u32::from(*a & 0x0F) << 12)
                            | (u32::from(*b & 0x3F) << 6)
                            | u32::from(*c & 0x3F),
                    );
                    rest = &bad[3..];
                } else {
                    out.push(0xFFFD);
                    rest = &bad[1.min(bad.len())..];
                }
            }
        }
    }
    out
}

/// Python's `repr(bytes)`.
fn bytes(raw: &[u8]) -> String {
    let quote = if raw.contains(&b'\'') && !raw.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &b in raw {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

/// reprlib's cut of a long repr: its first and last characters, `...` between.
fn cut_middle(text: &str, most: usize) -> String {
    let count = text.chars().count();
    if count <= most {
        return text.to_owned();
    }
    let head = (most - 3) / 2;
    let tail = most - 3 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}...{end}")
}

/// `values.preview`'s cut: the first characters, then `...`.
fn cut_end(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(most - 3).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_read_as_python_writes_them() {
        for (x, text) in [
            (11.0, "11.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (-3.5e-7, "-3.5e-07"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(python_float(x), text, "{x:e}");
        }
    }

    #[test]
    fn numbers_of_other_kinds_read_as_python_writes_them() {
        assert_eq!(complex(0.0, 1.0), "1j");
        assert_eq!(complex(-0.0, 1.0), "(-0+1j)");
        assert_eq!(complex(1.0, -0.0), "(1-0j)");
        assert_eq!(complex(1e16, 1e-5), "(1e+16+1e-05j)");
        assert_eq!(complex(f64::NAN, f64::INFINITY), "(nan+infj)");
        let np = |dtype: &str, v: Value| value(&json!({"$np": dtype, "v": v}), 3);
        assert_eq!(np("float32", json!(0.10000000149011612)), "np.float32(0.1)");
        assert_eq!(
            np("float32", json!(123456792.0)),
            "np.float32(1.2345679e+08)"
        );
        assert_eq!(np("float32", json!(999999.0)), "np.float32(999999.0)");
        assert_eq!(np("float16", json!(0.0999755859375)), "np.float16(0.1)");
        assert_eq!(np("float16", json!(1000.0)), "np.float16(1e+03)");
        assert_eq!(np("float64", json!(1e16)), "np.float64(1e+16)");
        assert_eq!(np("int8", json!(-3)), "np.int8(-3)");
        assert_eq!(np("bool", json!(true)), "np.True_");
        assert_eq!(
            np("complex128", json!({"$complex": [1.0, 2.0]})),
            "np.complex128(1+2j)"
        );
        assert_eq!(
            value(&json!({"$int": "1".repeat(50)}), 3),
            format!("{}...{}", "1".repeat(18), "1".repeat(19))
        );
    }

    #[test]
    fn strings_and_bytes_read_as_reprlib_writes_them() {
        let s = |text: &str| value(&json!(text), 3);
        assert_eq!(s("c"), "'c'");
        assert_eq!(s("it's"), "\"it's\"");
        assert_eq!(s("'\""), "'\\'\"'");
        assert_eq!(s("a\tb\n\u{1}\u{7f}é\u{a0}"), "'a\\tb\\n\\x01\\x7fé\\xa0'");
        let long: String = ('a'..='z').cycle().take(100).collect();
        // reprlib: repr(x[:38] + x[-39:]), then its first 38 and last 39 characters.
        let quoted = format!("'{}{}'", &long[..38], &long[61..]);
        assert_eq!(
            s(&long),
            format!("{}...{}", &quoted[..38], &quoted[quoted.len() - 39..])
        );
        let longer: String = ('a'..='z').cycle().take(10_000).collect();
        let all: Vec<u32> = longer.chars().map(u32::from).collect();
        assert_eq!(s(&longer), string(&all));
        assert!(ends(&longer).len() < 200);
        // A lone surrogate (the `$str` tag: UTF-8 with surrogatepass).
        let tagged =
            json!({"$str": base64::engine::general_purpose::STANDARD.encode(b"a\xed\xb2\x80")});
        assert_eq!(value(&tagged, 3), "'a\\udc80'");
        let raw = base64::engine::general_purpose::STANDARD.encode(b"\x00ab'\\");
        assert_eq!(value(&json!({"$bytes": raw}), 3), "b\"\\x00ab'\\\\\"");
    }

    #[test]
    fn containers_show_eight_items_three_levels_deep() {
        let v = |j: Value| value(&j, LEVELS);
        assert_eq!(v(json!([1, 2.5, null, true])), "[1, 2.5, None, True]");
        assert_eq!(
            v(json!((0..10).collect::<Vec<_>>())),
            "[0, 1, 2, 3, 4, 5, 6, 7, ...]"
        );
        assert_eq!(v(json!({"$tuple": [1]})), "(1,)");
        assert_eq!(v(json!({"$tuple": []})), "()");
        assert_eq!(v(json!([[[[1]]]])), "[[[[...]]]]");
        assert_eq!(v(json!([[[[]]]])), "[[[[]]]]");
        assert_eq!(
            v(json!({"$dict": [["a", 1], [2, [3]]]})),
            "{'a': 1, 2: [3]}"
        );
        assert_eq!(v(json!({"$dict": []})), "{}");
        assert_eq!(v(json!({"$set": [10, 9, 2.5]})), "{2.5, 9, 10}");
        assert_eq!(v(json!({"$set": ["b", "a"]})), "{'a', 'b'}");
        assert_eq!(v(json!({"$set": []})), "set()");
        assert_eq!(v(json!({"$frozenset": [1]})), "frozenset({1})");
        // Items stop once the text passes 200 characters.
        let long = "x".repeat(69);
        let text = v(json!(vec![long.clone(); 8]));
        let item = format!("'{long}'");
        assert_eq!(text, format!("[{item}, {item}, {item}, ...]"));
        assert_eq!(cut_end(&text, PREVIEW_CHARS).chars().count(), PREVIEW_CHARS);
    }

    #[test]
    fn long_reprs_are_cut_in_the_middle() {
        let text: String = ('a'..='z').cycle().take(100).collect();
        let cut = cut_middle(&text, REPR_CHARS);
        assert_eq!(cut.chars().count(), REPR_CHARS);
        assert!(cut.starts_with(&text[..38]) && cut.ends_with(&text[61..]));
    }
}
