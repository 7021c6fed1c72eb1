//! The model file as a tree of values that remember where they came from.
//!
//! TOML is parsed once into [`Node`]s carrying their line and column (or the `--set`
//! path that put them there); `--set` overrides are applied to the tree; then the
//! validating reader in `model` walks it with [`Table`] and [`Field`], which turn every
//! problem into a [`ModelError`] naming the file, the line and the key.

use std::fmt;

use toml::de::{DeTable, DeValue};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Line and column (1-based) in the model file.
    File { line: usize, col: usize },
    /// A `--set PATH=VALUE` on the command line.
    Set { path: String },
}

/// A refused model: one message naming the file, the line and the key.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ModelError {
    pub file: String,
    pub origin: Origin,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File { line, col } => {
                write!(f, "{}:{line}:{col}: ", self.file)?;
            }
            Origin::Set { path } => {
                // The key names the value inside the override when it is deeper.
                let shown = if self.key.starts_with(path.as_str()) {
                    &self.key
                } else {
                    path
                };
                return write!(f, "{}: --set {shown}: {}", self.file, self.message);
            }
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub key_origin: Origin,
    pub node: Node,
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a datetime",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

/// Byte offsets to line and column.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn origin(&self, text: &str, offset: usize) -> Origin {
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self.starts[line - 1];
        let col = text
            .get(start..offset.min(text.len()))
            .map_or(1, |s| s.chars().count() + 1);
        Origin::File { line, col }
    }
}

/// Parses TOML text into a tree. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Node, ModelError> {
    let lines = Lines::new(text);
    match DeTable::parse(text) {
        Ok(root) => {
            let origin = Origin::File { line: 1, col: 1 };
            let value = convert_table(root.get_ref(), text, &lines);
            Ok(Node { value, origin })
        }
        Err(e) => {
            let origin = e.span().map_or(Origin::File { line: 1, col: 1 }, |s| {
                lines.origin(text, s.start)
            });
            let message = format!("bad TOML: {}", e.message().trim());
            Err(ModelError {
                file: file.to_string(),
                origin,
                key: String::new(),
                message,
            })
        }
    }
}

fn convert_table(t: &DeTable<'_>, text: &str, lines: &Lines) -> Value {
    Value::Table(
        t.iter()
            .map(|(k, v)| Entry {
                key: k.get_ref().to_string(),
                key_origin: lines.origin(text, k.span().start),
                node: convert(v.get_ref(), v.span().start, text, lines),
            })
            .collect(),
    )
}

fn convert(v: &DeValue<'_>, offset: usize, text: &str, lines: &Lines) -> Node {
    let value = match v {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Float(f64::NAN),
        },
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(a) => Value::Array(
            a.iter()
                .map(|x| convert(x.get_ref(), x.span().start, text, lines))
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t, text, lines),
    };
    Node {
        value,
        origin: lines.origin(text, offset),
    }
}

/// Applies `--set PATH=VALUE`. PATH is a TOML dotted key: a name with dots or other
/// characters a bare key cannot hold is quoted (`stages."influx.db".replicas`). VALUE is
/// read as a TOML value (`3`, `true`, `"5s"`, `{ dist = "fixed", value = "5s" }`) and,
/// failing that, as a bare string (`5s`). Numeric path segments index arrays of tables:
/// `stages.C.failures.0.every`; the index one past the end, as the last segment, appends
/// (`nodes.1={ name = "node-2", … }`).
pub fn apply_set(root: &mut Node, file: &str, assignment: &str) -> Result<(), ModelError> {
    let err = |path: &str, message: String| ModelError {
        file: file.to_string(),
        origin: Origin::Set {
            path: path.to_string(),
        },
        key: String::new(),
        message,
    };
    let (path, raw) = split_assignment(assignment)
        .ok_or_else(|| err(assignment, "expected PATH=VALUE".into()))?;
    let path = path.trim();
    let segments = path_segments(path).map_err(|m| err(path, m))?;
    let origin = Origin::Set {
        path: path.to_string(),
    };
    let new = match DeTable::parse(&format!("v = {raw}")) {
        Ok(t) => {
            let lines = Lines::new("");
            let v = t.get_ref().get("v").expect("parsed a table with key v");
            let mut node = convert(v.get_ref(), 0, "", &lines);
            reorigin(&mut node, &origin);
            node
        }
        Err(_) => Node {
            value: Value::Str(raw.trim().to_string()),
            origin: origin.clone(),
        },
    };
    if segments.len() > MAX_SET_DEPTH {
        return Err(err(
            path,
            format!(
                "a path of at most {MAX_SET_DEPTH} segments, found {}",
                segments.len()
            ),
        ));
    }
    let mut cur = root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let so_far = shown(&segments[..=i]);
        cur = match &mut cur.value {
            Value::Table(entries) => {
                let pos = entries.iter().position(|e| e.key == **seg);
                let pos = match pos {
                    Some(p) => p,
                    // A stage is the model's to define: a new one made by --set would do
                    // nothing (no failures, not on the read path).
                    None if i == 1 && segments[0] == "stages" => {
                        let names: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
                        // `stages.influx.db.replicas` for a stage named `influx.db`.
                        if let Some((k, name)) = (2..segments.len())
                            .map(|k| (k, segments[1..=k].join(".")))
                            .find(|(_, name)| names.contains(&name.as_str()))
                        {
                            let mut quoted = vec![segments[0].clone(), name];
                            quoted.extend_from_slice(&segments[k + 1..]);
                            return Err(err(
                                path,
                                format!("a stage name with dots is quoted: {}", shown(&quoted)),
                            ));
                        }
                        return Err(err(
                            path,
                            format!(
                                "{}: the model has no stage \"{seg}\"{} (its stages: {})",
                                shown(&segments[..=1]),
                                suggestion(seg, names.iter().copied()),
                                names.join(", ")
                            ),
                        ));
                    }
                    None => {
                        entries.push(Entry {
                            key: seg.clone(),
                            key_origin: origin.clone(),
                            node: Node {
                                value: Value::Table(vec![]),
                                origin: origin.clone(),
                            },
                        });
                        entries.len() - 1
                    }
                };
                &mut entries[pos].node
            }
            Value::Array(items) => {
                let idx: usize = seg.parse().map_err(|_| {
                    // A list of named tables ([[nodes]], [[failures]]): name the indices.
                    let named: Vec<String> = items
                        .iter()
                        .enumerate()
                        .filter_map(|(k, n)| match &n.value {
                            Value::Table(es) => es.iter().find(|e| e.key == "name").and_then(|e| {
                                match &e.node.value {
                                    Value::Str(name) => Some(format!("{k} = {name}")),
                                    _ => None,
                                }
                            }),
                            _ => None,
                        })
                        .collect();
                    let hint = if named.is_empty() {
                        String::new()
                    } else {
                        format!(" (a list: {})", named.join(", "))
                    };
                    err(path, format!("{so_far}: expected an array index{hint}"))
                })?;
                let len = items.len();
                // One past the end, as the last segment: a new item (`nodes.1={ … }`).
                if last && idx == len {
                    items.push(new);
                    return Ok(());
                }
                items.get_mut(idx).ok_or_else(|| {
                    err(
                        path,
                        format!("{so_far}: index {idx} is past the end ({len} items)"),
                    )
                })?
            }
            other => {
                return Err(err(
                    path,
                    format!(
                        "{}: is {}, not a table",
                        shown(&segments[..i]),
                        other.type_name()
                    ),
                ));
            }
        };
        if last {
            *cur = new;
            return Ok(());
        }
    }
    unreachable!("a path has at least one segment")
}

/// Splits `PATH=VALUE` at the first `=` outside a quoted key.
pub fn split_assignment(assignment: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in assignment.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '=' => return Some((&assignment[..i], &assignment[i + 1..])),
            None => {}
        }
    }
    None
}

/// The segments of a `--set` path, read by TOML's own rules for a dotted key.
fn path_segments(path: &str) -> Result<Vec<String>, String> {
    let bad = || {
        "not a TOML dotted key (quote a name with dots or other characters: \
         stages.\"influx.db\".replicas)"
            .to_string()
    };
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    // More dots than any path this deep can hold, quoted names' included, is refused
    // before it is parsed into as many nested tables.
    if path.matches('.').count() > 8 * MAX_SET_DEPTH {
        return Err(format!("a path of at most {MAX_SET_DEPTH} segments"));
    }
    let text = format!("{path} = 0");
    let doc = DeTable::parse(&text).map_err(|_| bad())?;
    let mut segments = vec![];
    let mut table = doc.get_ref();
    loop {
        let mut entries = table.iter();
        let (Some((key, value)), None) = (entries.next(), entries.next()) else {
            return Err(bad());
        };
        segments.push(key.get_ref().to_string());
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => return Ok(segments),
        }
    }
}

/// Segments as a dotted key again, quoted where a bare key could not hold them.
fn shown(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| toml_key(s))
        .collect::<Vec<_>>()
        .join(".")
}

/// A name as a TOML key, and so as a segment of a `--set` path: bare when it can be
/// (`C`, `influx-db`), else a quoted string (`"influx.db"`).
pub fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}

fn reorigin(node: &mut Node, origin: &Origin) {
    node.origin = origin.clone();
    match &mut node.value {
        Value::Array(items) => items.iter_mut().for_each(|n| reorigin(n, origin)),
        Value::Table(entries) => entries.iter_mut().for_each(|e| {
            e.key_origin = origin.clone();
            reorigin(&mut e.node, origin)
        }),
        _ => {}
    }
}

/// Builds errors for one file.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub file: &'a str,
}

impl Ctx<'_> {
    pub fn error(&self, origin: &Origin, key: &str, message: impl Into<String>) -> ModelError {
        ModelError {
            file: self.file.to_string(),
            origin: origin.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// A value being read, with its dotted key path for messages.
#[derive(Clone)]
pub struct Field<'a> {
    pub ctx: Ctx<'a>,
    pub path: String,
    pub node: &'a Node,
}

/// A table being read: each key taken is marked, and [`Table::finish`] refuses the rest.
pub struct Table<'a> {
    pub ctx: Ctx<'a>,
    pub path: String,
    pub origin: &'a Origin,
    entries: &'a [Entry],
    used: Vec<bool>,
    /// Every key asked for, present or not: what an unknown key may have meant.
    asked: Vec<String>,
}

/// The most segments a `--set` path may have (the deepest model key has six).
pub const MAX_SET_DEPTH: usize = 8;

/// The candidate `word` most likely stands for: the same but for case, else the nearest
/// by edit distance when it is close (at most a third of the word's length).
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if c.to_lowercase() == lower {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &c.to_lowercase())
        };
        if d <= (word.chars().count() / 3).max(1) && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean `x`?)`, or nothing.
pub fn suggestion<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    did_you_mean(word, candidates).map_or(String::new(), |c| format!(" (did you mean `{c}`?)"))
}

impl<'a> Table<'a> {
    pub fn new(ctx: Ctx<'a>, path: String, node: &'a Node) -> Result<Self, ModelError> {
        match &node.value {
            Value::Table(entries) => Ok(Table {
                ctx,
                path,
                origin: &node.origin,
                entries,
                used: vec![false; entries.len()],
                asked: vec![],
            }),
            other => Err(ctx.error(
                &node.origin,
                &path,
                format!("expected a table, found {}", other.type_name()),
            )),
        }
    }

    /// Takes `key` if present.
    pub fn get(&mut self, key: &str) -> Option<Field<'a>> {
        if !self.asked.iter().any(|k| k == key) {
            self.asked.push(key.to_string());
        }
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.used[i] = true;
        Some(Field {
            ctx: self.ctx,
            path: self.child_path(key),
            node: &self.entries[i].node,
        })
    }

    /// The value of `key`, if present (without taking it).
    pub fn peek(&self, key: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.node.value)
    }

    /// Whether `key` is present (without taking it).
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key == key)
    }

    /// Takes `key`, refusing its absence.
    pub fn require(&mut self, key: &str) -> Result<Field<'a>, ModelError> {
        let missing = self.missing(key);
        self.get(key).ok_or(missing)
    }

    pub fn missing(&self, key: &str) -> ModelError {
        let full = self.child_path(key);
        self.ctx.error(self.origin, &full, "missing required key")
    }

    pub fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Refuses `key` as not built yet, if present.
    pub fn not_supported(&self, key: &str) -> Result<(), ModelError> {
        match self.entries.iter().position(|e| e.key == key) {
            Some(i) => {
                let path = self.child_path(&self.entries[i].key);
                Err(self.ctx.error(
                    &self.entries[i].key_origin,
                    &path,
                    format!("not supported yet: {path}"),
                ))
            }
            None => Ok(()),
        }
    }

    /// The keys in file order, with their fields, all taken.
    pub fn entries(&mut self) -> Vec<(String, Field<'a>)> {
        self.used.iter_mut().for_each(|u| *u = true);
        self.entries
            .iter()
            .map(|e| {
                (
                    e.key.clone(),
                    Field {
                        ctx: self.ctx,
                        path: self.child_path(&e.key),
                        node: &e.node,
                    },
                )
            })
            .collect()
    }

    /// Refuses the first key not taken.
    pub fn finish(self) -> Result<(), ModelError> {
        match self.used.iter().position(|u| !u) {
            Some(i) => {
                let key = &self.entries[i].key;
                let path = self.child_path(key);
                let hint = suggestion(key, self.asked.iter().map(String::as_str));
                Err(self.ctx.error(
                    &self.entries[i].key_origin,
                    &path,
                    format!("unknown key{hint}"),
                ))
            }
            None => Ok(()),
        }
    }
}

impl<'a> Field<'a> {
    pub fn error(&self, message: impl Into<String>) -> ModelError {
        self.ctx.error(&self.node.origin, &self.path, message)
    }

    fn wrong(&self, expected: &str) -> ModelError {
        self.error(format!(
            "expected {expected}, found {}",
            self.node.value.type_name()
        ))
    }

    pub fn table(&self) -> Result<Table<'a>, ModelError> {
        Table::new(self.ctx, self.path.clone(), self.node)
    }

    pub fn str(&self) -> Result<&'a str, ModelError> {
        match &self.node.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.wrong("a string")),
        }
    }

    pub fn bool(&self) -> Result<bool, ModelError> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.wrong("true or false")),
        }
    }

    /// A finite number (integer or float).
    pub fn f64(&self) -> Result<f64, ModelError> {
        let v = match &self.node.value {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            _ => return Err(self.wrong("a number")),
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.error(format!("expected a finite number, found {v}")))
        }
    }

    pub fn u64(&self) -> Result<u64, ModelError> {
        match &self.node.value {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            Value::Int(i) => {
                Err(self.error(format!("expected a whole number of at least 0, found {i}")))
            }
            _ => Err(self.wrong("a whole number")),
        }
    }

    pub fn array(&self) -> Result<Vec<Field<'a>>, ModelError> {
        match &self.node.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, n)| Field {
                    ctx: self.ctx,
                    path: format!("{}.{i}", self.path),
                    node: n,
                })
                .collect()),
            _ => Err(self.wrong("an array")),
        }
    }

    /// A duration: a string with a unit, or a bare number of seconds.
    pub fn duration(&self) -> Result<f64, ModelError> {
        match &self.node.value {
            Value::Str(s) => crate::units::parse_duration(s).map_err(|m| self.error(m)),
            Value::Int(_) | Value::Float(_) => self.f64(),
            _ => Err(self.wrong("a duration like \"5s\"")),
        }
    }

    /// A duration that must be above zero.
    pub fn positive_duration(&self) -> Result<f64, ModelError> {
        let d = self.duration()?;
        if d > 0.0 {
            Ok(d)
        } else {
            Err(self.error(format!("must be a positive duration, found {d} s")))
        }
    }

    /// A duration of at least zero.
    pub fn nonnegative_duration(&self) -> Result<f64, ModelError> {
        let d = self.duration()?;
        if d >= 0.0 {
            Ok(d)
        } else {
            Err(self.error(format!("must not be negative, found {d} s")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_lines_and_columns() {
        let root = parse("m.toml", "a = 1\n[b]\nc = \"x\"\n").unwrap();
        let Value::Table(entries) = &root.value else {
            panic!()
        };
        assert_eq!(entries[0].node.origin, Origin::File { line: 1, col: 5 });
        let Value::Table(inner) = &entries[1].node.value else {
            panic!()
        };
        assert_eq!(inner[0].key_origin, Origin::File { line: 3, col: 1 });
        assert_eq!(inner[0].node.origin, Origin::File { line: 3, col: 5 });
    }

    #[test]
    fn bad_toml_names_its_line() {
        let e = parse("m.toml", "a = 1\nb = = 2\n").unwrap_err();
        assert!(matches!(e.origin, Origin::File { line: 2, .. }), "{e}");
    }

    #[test]
    fn set_replaces_creates_and_indexes() {
        let mut root = parse("m.toml", "[s]\nx = 1\n[[f]]\ny = 2\n").unwrap();
        apply_set(&mut root, "m.toml", "s.x=5s").unwrap();
        apply_set(&mut root, "m.toml", "t.z=3").unwrap();
        apply_set(&mut root, "m.toml", "f.0.y={ a = 1 }").unwrap();
        let ctx = Ctx { file: "m.toml" };
        let mut t = Table::new(ctx, String::new(), &root).unwrap();
        assert_eq!(
            t.get("s")
                .unwrap()
                .table()
                .unwrap()
                .get("x")
                .unwrap()
                .str()
                .unwrap(),
            "5s"
        );
        let tz = t
            .get("t")
            .unwrap()
            .table()
            .unwrap()
            .get("z")
            .unwrap()
            .u64()
            .unwrap();
        assert_eq!(tz, 3);
        assert!(apply_set(&mut root, "m.toml", "s.x.q=1").is_err());
        assert!(apply_set(&mut root, "m.toml", "f.9.y=1").is_err());
        // One past the end appends an item; two past is refused.
        apply_set(&mut root, "m.toml", "f.1={ y = 3 }").unwrap();
        assert!(apply_set(&mut root, "m.toml", "f.3={ y = 4 }").is_err());
        let Value::Table(es) = &root.value else {
            panic!()
        };
        let f = es.iter().find(|e| e.key == "f").unwrap();
        assert!(matches!(&f.node.value, Value::Array(items) if items.len() == 2));
        assert!(apply_set(&mut root, "m.toml", "novalue").is_err());
    }

    #[test]
    fn set_paths_are_toml_dotted_keys_and_quote_names_with_dots() {
        let text = "[stages.\"influx.db\"]\nreplicas = 1\n[stages.a]\nreplicas = 1\n";
        let replicas = |root: &Node, stage: &str| {
            let ctx = Ctx { file: "m.toml" };
            let mut t = Table::new(ctx, String::new(), root).unwrap();
            let mut stages = t.get("stages").unwrap().table().unwrap();
            let mut st = stages.get(stage).unwrap().table().unwrap();
            st.get("replicas").unwrap().u64().unwrap()
        };
        for (k, path) in [
            "stages.\"influx.db\".replicas",
            "stages.'influx.db'.replicas",
            " stages . \"influx.db\" . replicas ",
        ]
        .iter()
        .enumerate()
        {
            let mut root = parse("m.toml", text).unwrap();
            apply_set(&mut root, "m.toml", &format!("{path}={}", k + 2)).unwrap();
            assert_eq!(replicas(&root, "influx.db"), k as u64 + 2, "{path}");
            assert_eq!(replicas(&root, "a"), 1);
        }
        // The dotted name unquoted: refused, with the quoted path to use.
        let mut root = parse("m.toml", text).unwrap();
        let e = apply_set(&mut root, "m.toml", "stages.influx.db.replicas=3").unwrap_err();
        assert!(
            e.to_string()
                .contains("a stage name with dots is quoted: stages.\"influx.db\".replicas"),
            "{e}"
        );
        // Not a dotted key: an empty segment, a character a bare key cannot hold.
        for bad in ["stages..replicas=1", "stages.x/y.replicas=1", "=1", ".a=1"] {
            let e = apply_set(&mut root, "m.toml", bad).unwrap_err();
            assert!(
                e.message.contains("dotted key") || e.message.contains("empty"),
                "{bad}: {e}"
            );
        }
        // An '=' inside a quoted name is part of it, not the assignment's.
        assert_eq!(
            split_assignment("stages.\"a=b\".x=1"),
            Some(("stages.\"a=b\".x", "1"))
        );
        assert_eq!(
            split_assignment("a.'x=\"'.b = \"=\""),
            Some(("a.'x=\"'.b ", " \"=\""))
        );
        assert_eq!(split_assignment("a.\"unclosed=1"), None);
    }
}
