//! Reading the agent's tagged JSON values (see docs/store-format.md) for
//! display, without Python.

use serde_json::Value;

/// A tag's content in an object of at most `keys` keys: `{"$np": "float32",
/// "v": 1.5}` has two, `{"$tuple": [...]}` one.
pub(crate) fn tag<'a>(v: &'a Value, name: &str, keys: usize) -> Option<&'a Value> {
    v.as_object()
        .filter(|o| o.len() <= keys)
        .and_then(|o| o.get(name))
}

/// The Python type a tagged value stands for.
pub fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => {
            for (name, ty) in [
                ("$tuple", "tuple"),
                ("$dict", "dict"),
                ("$set", "set"),
                ("$frozenset", "frozenset"),
                ("$bytes", "bytes"),
                ("$int", "int"),
                ("$float", "float"),
                ("$complex", "complex"),
                ("$np", "numpy scalar"),
            ] {
                if tag(v, name, 2).is_some() {
                    return ty;
                }
            }
            "object"
        }
    }
}

/// The number a tagged value holds, if it is one.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(_) => None,
        _ => {
            if let Some(f) = tag(v, "$float", 2).and_then(Value::as_str) {
                return match f {
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    _ => Some(f64::NAN),
                };
            }
            if let Some(i) = tag(v, "$int", 2).and_then(Value::as_str) {
                return i.parse().ok();
            }
            tag(v, "$np", 2).and_then(|_| v.get("v")).and_then(number)
        }
    }
}

fn join(items: &[Value], limit: usize) -> String {
    let mut parts: Vec<String> = items.iter().take(limit).map(render_value).collect();
    if items.len() > limit {
        parts.push(format!("... ({} more)", items.len() - limit));
    }
    parts.join(", ")
}

/// Python-like text of a tagged value (long ones are cut).
pub fn render_value(v: &Value) -> String {
    const LIMIT: usize = 20;
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let cut: String = s.chars().take(200).collect();
            format!(
                "{:?}{}",
                cut,
                if s.chars().count() > 200 { "..." } else { "" }
            )
        }
        Value::Array(items) => format!("[{}]", join(items, LIMIT)),
        Value::Object(_) => {
            if let Some(Value::Array(items)) = tag(v, "$tuple", 2) {
                let comma = if items.len() == 1 { "," } else { "" };
                return format!("({}{comma})", join(items, LIMIT));
            }
            if let Some(Value::Array(pairs)) = tag(v, "$dict", 2) {
                let shown: Vec<String> = pairs
                    .iter()
                    .take(LIMIT)
                    .map(|p| match p.as_array().map(Vec::as_slice) {
                        Some([k, val]) => format!("{}: {}", render_value(k), render_value(val)),
                        _ => "?".into(),
                    })
                    .collect();
                let more = if pairs.len() > LIMIT { ", ..." } else { "" };
                return format!("{{{}{more}}}", shown.join(", "));
            }
            for name in ["$set", "$frozenset"] {
                if let Some(Value::Array(items)) = tag(v, name, 2) {
                    return if name == "$set" {
                        format!("{{{}}}", join(items, LIMIT))
                    } else {
                        format!("frozenset({{{}}})", join(items, LIMIT))
                    };
                }
            }
            if let Some(b) = tag(v, "$bytes", 2).and_then(Value::as_str) {
                return format!(
                    "<{} bytes, base64 {}>",
                    b.len() * 3 / 4,
                    &b[..b.len().min(24)]
                );
            }
            if let Some(i) = tag(v, "$int", 2).and_then(Value::as_str) {
                return i.to_owned();
            }
            if let Some(f) = tag(v, "$float", 2).and_then(Value::as_str) {
                return format!("float('{f}')");
            }
            if let Some(Value::Array(c)) = tag(v, "$complex", 2) {
                return format!("complex({})", join(c, 2));
            }
            if let (Some(dt), Some(inner)) = (tag(v, "$np", 2).and_then(Value::as_str), v.get("v"))
            {
                return format!("{dt}({})", render_value(inner));
            }
            if let Some(r) = tag(v, "$repr", 2).and_then(Value::as_str) {
                return r.to_owned();
            }
            v.to_string()
        }
    }
}

/// Follows `[key]`/`[index]` steps into a tagged value.
pub fn descend_value(v: &Value, rest: &str) -> Option<Value> {
    if rest.is_empty() {
        return Some(v.clone());
    }
    let inner = rest.strip_prefix('[')?;
    let close = find_close(inner)?;
    let key_text = &inner[..close];
    let tail = &inner[close + 1..];
    let next = match v {
        Value::Array(items) => items.get(key_text.parse::<usize>().ok()?)?.clone(),
        _ => {
            if let Some(Value::Array(items)) = tag(v, "$tuple", 2) {
                items.get(key_text.parse::<usize>().ok()?)?.clone()
            } else if let Some(Value::Array(pairs)) = tag(v, "$dict", 2) {
                let wanted: Value = serde_json::from_str(key_text).ok()?;
                pairs
                    .iter()
                    .filter_map(|p| p.as_array())
                    .find(|p| p.first() == Some(&wanted))?
                    .get(1)?
                    .clone()
            } else {
                return None;
            }
        }
    };
    descend_value(&next, tail)
}

/// Index of the `]` closing a key, skipping brackets inside a JSON string.
fn find_close(s: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tagged_values_render_like_python() {
        let v = json!({"$dict": [["lr", 0.1], ["sizes", {"$tuple": [1]}], [3, {"$float": "nan"}]]});
        assert_eq!(
            render_value(&v),
            r#"{"lr": 0.1, "sizes": (1,), 3: float('nan')}"#
        );
        assert_eq!(render_value(&json!(null)), "None");
        assert_eq!(render_value(&json!({"$set": [1, 2]})), "{1, 2}");
        assert_eq!(
            render_value(&json!({"$np": "float32", "v": 0.5})),
            "float32(0.5)"
        );
        assert_eq!(type_of(&json!({"$tuple": []})), "tuple");
    }

    #[test]
    fn paths_descend_into_plain_values() {
        let v = json!({"$dict": [["opt", {"$dict": [["lr", 0.01]]}], ["hist", [1, 2, 3]]]});
        assert_eq!(descend_value(&v, r#"["opt"]["lr"]"#), Some(json!(0.01)));
        assert_eq!(descend_value(&v, r#"["hist"][2]"#), Some(json!(3)));
        assert_eq!(descend_value(&v, r#"["missing"]"#), None);
        assert_eq!(descend_value(&v, r#"["hist"][9]"#), None);
        let odd = json!({"$dict": [["a]b", 1]]});
        assert_eq!(descend_value(&odd, r#"["a]b"]"#), Some(json!(1)));
    }

    #[test]
    fn numbers_come_out_of_tags() {
        assert_eq!(number(&json!(2)), Some(2.0));
        assert!(number(&json!({"$float": "nan"})).is_some_and(f64::is_nan));
        assert_eq!(number(&json!({"$float": "-inf"})), Some(f64::NEG_INFINITY));
        assert_eq!(number(&json!(true)), None);
    }
}
