//! The filter language of the runs table (`snapline runs --where`):
//! comparisons joined by `and`, `or`, `not` and parentheses.
//!
//! ```text
//! lr < 0.01 and final val_acc > 0.9
//! not (optimizer == "sgd" or shuffle == true)
//! min loss <= 0.1 or status != 'failed'
//! ```
//!
//! - A comparison is `VALUE OP VALUE` with `<`, `<=`, `>`, `>=`, `==` (or
//!   `=`), `!=`.
//! - A value is a number (`0.01`, `-3`, `1e-4`), a string in single or
//!   double quotes, `true`/`false`/`none`, a column name (`lr`,
//!   `batch_size`, `cfg.hidden`, `final:loss`), a column name in backticks
//!   for names with other characters (`` `stats["loss"]` ``), or
//!   `final NAME`, `min NAME`, `max NAME` for a series' last, smallest and
//!   largest value (the columns `final:NAME`, `min:NAME`, `max:NAME`).
//! - A comparison with a column a run lacks is false for that run; numbers
//!   compare with numbers, strings with strings (`==`/`!=` across kinds:
//!   unequal).
//!
//! A tiny hand parser: the grammar is eight rules, and a parser crate would
//! bring more than it saves; what it must do well is say where an
//! expression goes wrong (`FilterError`: the 1-based character position and
//! what was expected there).

use std::fmt;

use serde::Serialize;

/// A value of a runs-table cell or of a filter literal.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Cell {
    Bool(bool),
    /// NaN and infinities are the strings "nan", "inf" and "-inf" in JSON.
    Number(
        #[serde(with = "snapline_store::wire_float")]
        #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
        f64,
    ),
    Text(String),
    /// Python's None.
    #[cfg_attr(feature = "ts", ts(type = "null"))]
    None,
}

impl Cell {
    /// The cell as a person reads it (4 significant digits for numbers).
    pub fn text(&self) -> String {
        match self {
            Cell::Bool(b) => if *b { "True" } else { "False" }.into(),
            Cell::Number(v) if v.is_nan() => "nan".into(),
            Cell::Number(v) if v.is_infinite() => if *v > 0.0 { "inf" } else { "-inf" }.into(),
            Cell::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
            Cell::Number(v) if *v == 0.0 || (v.abs() >= 1e-3 && v.abs() < 1e6) => {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            Cell::Number(v) => format!("{v:.3e}"),
            Cell::Text(s) => s.clone(),
            Cell::None => "None".into(),
        }
    }
}

/// A filter expression that does not parse: where and what was expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("bad filter at character {position} of {expression:?}: {message}")]
pub struct FilterError {
    pub expression: String,
    /// 1-based character position.
    pub position: usize,
    pub message: String,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Literal(Cell),
    /// A column name (`final NAME` is the column `final:NAME`), and the
    /// 1-based position where it was written (for unknown-column errors).
    Column {
        name: String,
        position: usize,
    },
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare(Operand, CompareOp, Operand),
}

impl Filter {
    /// Parses an expression, or says where it goes wrong.
    pub fn parse(expression: &str) -> Result<Filter, FilterError> {
        let tokens = tokenize(expression)?;
        let mut p = Parser {
            expression,
            tokens,
            at: 0,
        };
        let filter = p.or()?;
        match p.peek() {
            None => Ok(filter),
            Some(t) => Err(p.error_at(
                t.position,
                format!("expected `and`, `or` or the end, found {}", t.kind),
            )),
        }
    }

    /// Every column the filter reads, with where it was written.
    pub fn columns(&self) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<(&'a str, usize)>) {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
            }
            Filter::Not(a) => a.collect_columns(out),
            Filter::Compare(l, _, r) => {
                for side in [l, r] {
                    if let Operand::Column { name, position } = side {
                        out.push((name, *position));
                    }
                }
            }
        }
    }

    /// Whether a row matches; `lookup` gives a column's cell (None: the run
    /// has no such column, and comparisons with it are false).
    pub fn matches<'a>(&self, lookup: &impl Fn(&str) -> Option<&'a Cell>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(lookup) && b.matches(lookup),
            Filter::Or(a, b) => a.matches(lookup) || b.matches(lookup),
            Filter::Not(a) => !a.matches(lookup),
            Filter::Compare(l, op, r) => match (value_of(l, lookup), value_of(r, lookup)) {
                (Some(a), Some(b)) => compare(a, *op, b),
                _ => false,
            },
        }
    }
}

fn value_of<'a, 'b>(o: &'b Operand, lookup: &impl Fn(&str) -> Option<&'a Cell>) -> Option<&'b Cell>
where
    'a: 'b,
{
    match o {
        Operand::Literal(c) => Some(c),
        Operand::Column { name, .. } => lookup(name),
    }
}

fn compare(a: &Cell, op: CompareOp, b: &Cell) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => x.partial_cmp(y),
        (Cell::Bool(x), Cell::Bool(y)) => Some(x.cmp(y)),
        (Cell::Number(x), Cell::Bool(y)) | (Cell::Bool(y), Cell::Number(x)) => {
            // Python: True == 1.
            (*x == f64::from(u8::from(*y))).then_some(Ordering::Equal)
        }
        (Cell::Text(x), Cell::Text(y)) => Some(x.cmp(y)),
        (Cell::None, Cell::None) => Some(Ordering::Equal),
        _ => None,
    };
    match (op, ordering) {
        (CompareOp::Ne, None) => true,
        (_, None) => false,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Number(f64),
    Text(String),
    Word(String),
    /// A name in backticks: never a keyword.
    Quoted(String),
    Op(CompareOp),
    Open,
    Close,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Number(n) => write!(f, "the number {n}"),
            Kind::Text(s) => write!(f, "the string {s:?}"),
            Kind::Word(w) => write!(f, "`{w}`"),
            Kind::Quoted(w) => write!(f, "the name `{w}`"),
            Kind::Op(_) => f.write_str("a comparison operator"),
            Kind::Open => f.write_str("`(`"),
            Kind::Close => f.write_str("`)`"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// 1-based character position.
    position: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

fn tokenize(expression: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = expression.chars().collect();
    let err = |position: usize, message: String| FilterError {
        expression: expression.to_owned(),
        position,
        message,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let numeric_start = c.is_ascii_digit()
            || (matches!(c, '-' | '.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()));
        let kind = if numeric_start {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || (matches!(chars[i], '-' | '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n: f64 = text
                .parse()
                .map_err(|_| err(position, format!("{text:?} is not a number")))?;
            Kind::Number(n)
        } else if c == '"' || c == '\'' || c == '`' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i == chars.len() {
                let what = if c == '`' { "name" } else { "string" };
                return Err(err(
                    position,
                    format!("the {what} opened here has no closing {c}"),
                ));
            }
            let text: String = chars[start..i].iter().collect();
            i += 1;
            if c == '`' {
                Kind::Quoted(text)
            } else {
                Kind::Text(text)
            }
        } else if c == '(' {
            i += 1;
            Kind::Open
        } else if c == ')' {
            i += 1;
            Kind::Close
        } else if matches!(c, '<' | '>' | '=' | '!') {
            let two = chars.get(i + 1) == Some(&'=');
            let op = match (c, two) {
                ('<', true) => CompareOp::Le,
                ('<', false) => CompareOp::Lt,
                ('>', true) => CompareOp::Ge,
                ('>', false) => CompareOp::Gt,
                ('=', _) => CompareOp::Eq,
                ('!', true) => CompareOp::Ne,
                _ => {
                    return Err(err(
                        position,
                        "expected `!=`; for negation write `not`".into(),
                    ))
                }
            };
            i += if two { 2 } else { 1 };
            Kind::Op(op)
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            Kind::Word(chars[start..i].iter().collect())
        } else {
            return Err(err(
                position,
                format!("unexpected {c:?}: expected a column name, a number, a quoted string, a comparison, `and`, `or`, `not` or parentheses"),
            ));
        };
        out.push(Token { kind, position });
    }
    Ok(out)
}

struct Parser<'a> {
    expression: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn end_position(&self) -> usize {
        self.expression.chars().count() + 1
    }

    fn error_at(&self, position: usize, message: String) -> FilterError {
        FilterError {
            expression: self.expression.to_owned(),
            position,
            message,
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case(word))
        {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.not()?)));
        }
        if matches!(
            self.peek(),
            Some(Token {
                kind: Kind::Open,
                ..
            })
        ) {
            let open = self.tokens[self.at].position;
            self.at += 1;
            let inner = self.or()?;
            return match self.peek() {
                Some(Token {
                    kind: Kind::Close, ..
                }) => {
                    self.at += 1;
                    Ok(inner)
                }
                Some(t) => Err(self.error_at(
                    t.position,
                    format!(
                        "expected `)` to close the `(` at character {open}, found {}",
                        t.kind
                    ),
                )),
                None => Err(self.error_at(
                    self.end_position(),
                    format!("expected `)` to close the `(` at character {open}, found the end"),
                )),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        let left = self.operand()?;
        let op = match self.peek() {
            Some(Token {
                kind: Kind::Op(op), ..
            }) => *op,
            Some(t) => {
                return Err(self.error_at(
                    t.position,
                    format!(
                        "expected a comparison (<, <=, >, >=, ==, !=), found {}",
                        t.kind
                    ),
                ))
            }
            None => {
                return Err(self.error_at(
                    self.end_position(),
                    "expected a comparison (<, <=, >, >=, ==, !=), found the end".into(),
                ))
            }
        };
        self.at += 1;
        let right = self.operand()?;
        Ok(Filter::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let expected = "expected a column name, a number or a quoted string";
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_at(self.end_position(), format!("{expected}, found the end")));
        };
        self.at += 1;
        let column = |name: String| Operand::Column {
            name,
            position: token.position,
        };
        Ok(match token.kind {
            Kind::Number(n) => Operand::Literal(Cell::Number(n)),
            Kind::Text(s) => Operand::Literal(Cell::Text(s)),
            Kind::Quoted(name) => column(name),
            Kind::Word(w) => match w.to_ascii_lowercase().as_str() {
                "true" => Operand::Literal(Cell::Bool(true)),
                "false" => Operand::Literal(Cell::Bool(false)),
                "none" | "null" => Operand::Literal(Cell::None),
                "and" | "or" | "not" => {
                    return Err(self.error_at(token.position, format!("{expected}, found `{w}`")))
                }
                agg @ ("final" | "min" | "max") => match self.peek().cloned() {
                    Some(Token {
                        kind: Kind::Word(name) | Kind::Quoted(name),
                        ..
                    }) if !matches!(name.as_str(), "and" | "or" | "not") => {
                        self.at += 1;
                        column(format!("{agg}:{name}"))
                    }
                    // `final` alone: a column of that name.
                    _ => column(w),
                },
                _ => column(w),
            },
            kind => return Err(self.error_at(token.position, format!("{expected}, found {kind}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn row(pairs: &[(&str, Cell)]) -> HashMap<String, Cell> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn check(expr: &str, r: &HashMap<String, Cell>) -> bool {
        Filter::parse(expr).unwrap().matches(&|n| r.get(n))
    }

    #[test]
    fn filters_read_like_mlflow() {
        let r = row(&[
            ("lr", Cell::Number(0.001)),
            ("final:val_acc", Cell::Number(0.95)),
            ("optimizer", Cell::Text("adam".into())),
            ("shuffle", Cell::Bool(true)),
        ]);
        assert!(check("lr < 0.01 and final val_acc > 0.9", &r));
        assert!(!check("lr >= 0.01 or final val_acc < 0.9", &r));
        assert!(check("not (optimizer == 'sgd') and shuffle == true", &r));
        assert!(check("optimizer != \"sgd\"", &r));
        assert!(check("lr = 1e-3", &r));
        assert!(check("0.0001 < lr", &r));
        assert!(check("`final:val_acc` > 0.5", &r));
        // A column the run lacks: false, and its negation true.
        assert!(!check("batch_size > 1", &r));
        assert!(check("not batch_size > 1", &r));
        // and binds tighter than or.
        assert!(check("lr > 1 and lr > 2 or shuffle == true", &r));
        assert!(!check("lr > 1 and (lr > 2 or shuffle == true)", &r));
        let f = Filter::parse("min loss < 1 and max:acc > 0").unwrap();
        let cols: Vec<&str> = f.columns().into_iter().map(|c| c.0).collect();
        assert_eq!(cols, vec!["min:loss", "max:acc"]);
    }

    #[test]
    fn bad_expressions_say_where_and_what() {
        let err = |e: &str| Filter::parse(e).unwrap_err();
        let e = err("lr <");
        assert_eq!(e.position, 5);
        assert!(
            e.message.contains("expected a column name, a number"),
            "{e}"
        );
        let e = err("lr 0.01");
        assert_eq!(e.position, 4);
        assert!(e.message.contains("expected a comparison"), "{e}");
        let e = err("(lr < 1");
        assert!(
            e.message
                .contains("expected `)` to close the `(` at character 1"),
            "{e}"
        );
        let e = err("lr < 1 and");
        assert_eq!(e.position, 11);
        let e = err("lr < 'abc");
        assert_eq!(e.position, 6);
        assert!(e.message.contains("no closing"), "{e}");
        let e = err("lr < 1 lr > 2");
        assert!(e.message.contains("expected `and`, `or` or the end"), "{e}");
        let e = err("lr ! 1");
        assert!(e.message.contains("!="), "{e}");
        let e = err("lr < 1.2.3");
        assert!(e.message.contains("not a number"), "{e}");
        let e = err("lr < 1 & x > 2");
        assert_eq!(e.position, 8);
        let e = err("and < 1");
        assert_eq!(e.position, 1);
        // One line, naming the place.
        let text = err("lr <").to_string();
        assert!(
            !text.contains('\n') && text.contains("character 5"),
            "{text}"
        );
    }

    #[test]
    fn cells_read_well() {
        assert_eq!(Cell::Number(0.001).text(), "0.001");
        assert_eq!(Cell::Number(16.0).text(), "16");
        assert_eq!(Cell::Number(f64::NAN).text(), "nan");
        assert_eq!(Cell::Bool(true).text(), "True");
        assert_eq!(
            serde_json::to_value(Cell::Number(f64::INFINITY)).unwrap(),
            serde_json::json!("inf")
        );
    }
}
