//! Kubernetes YAML as people have it — several documents to a file, `kind: List`,
//! comments, `helm template` and Kustomize output — read into objects that remember the
//! line of every value, so each value a model takes from them can name its source.

use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::ImportError;

/// A YAML value with the line of every value inside it.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Marked>),
    Map(Vec<(String, Marked)>),
}

/// A value and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Marked {
    pub value: Yaml,
    pub line: u64,
    /// For a mapping's value: the line of its key (a block mapping or sequence value
    /// starts on the line after it).
    pub key_line: Option<u64>,
}

impl<'de> Deserialize<'de> for Marked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Yaml>::deserialize(d)?;
        Ok(Marked {
            value: s.value,
            line: s.referenced.line(),
            key_line: None,
        })
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Yaml, E> {
        Ok(i64::try_from(v).map_or(Yaml::Float(v as f64), Yaml::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(m) = seq.next_element::<Marked>()? {
            items.push(m);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Yaml>>()? {
            let key_line = key.referenced.line();
            let key = match key.value {
                Yaml::Str(s) => s,
                Yaml::Int(i) => i.to_string(),
                Yaml::Bool(b) => b.to_string(),
                Yaml::Float(f) => f.to_string(),
                Yaml::Null => "null".to_string(),
                Yaml::Seq(_) | Yaml::Map(_) => {
                    return Err(de::Error::custom("a mapping key that is not a scalar"));
                }
            };
            let mut value = map.next_value::<Marked>()?;
            value.key_line = Some(key_line);
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }
}

impl Marked {
    /// The value at a dotted path, or the deepest on the way there and `false` (`spec.template.spec.containers.0.image`;
    /// numeric segments index sequences; a key may hold dots itself, as
    /// `data.telegraf.conf` does), as far as they exist.
    fn walk(&self, path: &str) -> (&Marked, bool) {
        let segs: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
        let (mut cur, mut i) = (self, 0);
        while i < segs.len() {
            let next = match &cur.value {
                Yaml::Map(entries) => (i + 1..=segs.len()).find_map(|j| {
                    let key = segs[i..j].join(".");
                    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| (v, j))
                }),
                Yaml::Seq(items) => segs[i]
                    .parse::<usize>()
                    .ok()
                    .and_then(|k| items.get(k))
                    .map(|v| (v, i + 1)),
                _ => None,
            };
            match next {
                Some((v, j)) => (cur, i) = (v, j),
                None => return (cur, false),
            }
        }
        (cur, true)
    }

    /// The value at a dotted path (see [`Marked::walk`]).
    pub fn at(&self, path: &str) -> Option<&Marked> {
        let (v, complete) = self.walk(path);
        complete.then_some(v)
    }

    /// The line of the value at `path` (of its key, for a mapping's value), or of the
    /// deepest value on the way there.
    pub fn line_of(&self, path: &str) -> u64 {
        let (cur, _) = self.walk(path);
        cur.key_line.unwrap_or(cur.line)
    }

    pub fn str_at(&self, path: &str) -> Option<&str> {
        match &self.at(path)?.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The same value as JSON, for the typed Kubernetes structs.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Yaml::Null => J::Null,
            Yaml::Bool(b) => J::Bool(*b),
            Yaml::Int(i) => J::from(*i),
            Yaml::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Yaml::Str(s) => J::String(s.clone()),
            Yaml::Seq(items) => J::Array(items.iter().map(Marked::to_json).collect()),
            Yaml::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// One Kubernetes object as read: where it came from and its value.
#[derive(Clone, Debug)]
pub struct Object {
    /// The file as it is shown (`calibration/k8s/10-influxdb.yaml`, `-`).
    pub file: String,
    /// The document's position in its file, from 1.
    pub document: usize,
    /// The item's index inside a `kind: List` document.
    pub item: Option<usize>,
    pub value: Marked,
    /// The path of [`Object::value`] inside its document (`items.2.` in a List).
    pub prefix: String,
    /// The whole file's text.
    pub text: std::sync::Arc<str>,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.value.str_at("kind").unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.value.str_at("apiVersion").unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.value.str_at("metadata.name").unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.value.str_at("metadata.namespace").unwrap_or("")
    }

    /// Where this object is, for messages: `file, document 3 (items.2)`.
    pub fn place(&self) -> String {
        match self.item {
            Some(i) => format!("{}, document {}, items[{i}]", self.file, self.document),
            None => format!("{}, document {}", self.file, self.document),
        }
    }

    /// The file line on which a multi-line string value at `path` (a block scalar:
    /// `telegraf.conf: |`) has its first line of content, so a line of the string maps
    /// to a line of the file.
    pub fn block_start(&self, path: &str, content: &str) -> u64 {
        let from = self.value.line_of(path);
        let Some(first) = content.lines().find(|l| !l.trim().is_empty()) else {
            return from;
        };
        let blank = content.lines().take_while(|l| l.trim().is_empty()).count() as u64;
        self.text
            .lines()
            .enumerate()
            .skip(from as usize)
            .find(|(_, l)| l.trim() == first.trim())
            .map_or(from, |(i, _)| i as u64 + 1 - blank)
    }

    /// `file:line` of the value at `path` inside the object.
    pub fn source(&self, path: &str) -> String {
        format!("{}:{}", self.file, self.value.line_of(path))
    }

    /// A bad-input error at a line of the file inside the value at `path`.
    pub fn error_at_line(
        &self,
        path: &str,
        line: u64,
        message: impl std::fmt::Display,
    ) -> ImportError {
        let ImportError::Bad(m) = self.error(path, message) else {
            unreachable!("error() makes a Bad")
        };
        let old = format!("{}:{}:", self.file, self.value.line_of(path));
        ImportError::Bad(m.replacen(&old, &format!("{}:{line}:", self.file), 1))
    }

    /// A bad-input error at `path` of this object.
    pub fn error(&self, path: &str, message: impl std::fmt::Display) -> ImportError {
        let shown = if path.is_empty() {
            String::new()
        } else {
            format!(" {}{path}:", self.prefix)
        };
        let what = match (self.kind(), self.name()) {
            ("", _) => String::new(),
            (kind, "") => format!(" ({kind})"),
            (kind, name) => format!(" ({kind} {name})"),
        };
        ImportError::Bad(format!(
            "{}:{}: document {}{}{what}:{shown} {message}",
            self.file,
            self.value.line_of(path),
            self.document,
            self.item.map_or(String::new(), |i| format!(", items[{i}]")),
        ))
    }
}

/// The largest manifest file read (a cluster's worth of YAML is far smaller).
const MAX_FILE: u64 = 64 << 20;

/// Every file under `paths` that holds manifests: a file as given, a directory's
/// `*.yaml`, `*.yml` and `*.json` files (recursively, in name order), `-` standard input.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    for p in paths {
        if crate::fsio::is_stdin(p) || !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        walk(p, &mut out)?;
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let io = |e: std::io::Error| ImportError::Io(format!("{}: {e}", dir.display()));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The text of one file (or of standard input for `-`).
pub fn read(path: &Path) -> Result<String, ImportError> {
    crate::fsio::read_input(path, MAX_FILE).map_err(|e| match e {
        crate::fsio::ReadError::Io { .. } => ImportError::Io(e.to_string()),
        crate::fsio::ReadError::Refused(m) => ImportError::Bad(m),
    })
}

/// The objects of one file's text: every document, a `kind: List` opened into its
/// items; empty documents skipped.
pub fn objects(file: &str, text: &str) -> Result<Vec<Object>, ImportError> {
    let docs: Vec<Option<Marked>> = serde_saphyr::from_multiple(text)
        .map_err(|e| ImportError::Bad(format!("{file}: not YAML: {}", first_line(&e))))?;
    let mut out = Vec::new();
    let shared: std::sync::Arc<str> = text.into();
    // Documents are counted as a reader counts them, empty ones included: by the `---`
    // markers above each (a marker before any content opens the first document).
    let markers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("---"))
        .map(|(i, _)| i + 1)
        .collect();
    let content_first = text
        .lines()
        .take(markers.first().map_or(usize::MAX, |m| m - 1))
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let number = |line: u64| {
        markers.iter().filter(|m| (**m as u64) < line).count() + usize::from(content_first)
    };
    for doc in docs {
        let Some(doc) = doc.filter(|d| d.value != Yaml::Null) else {
            continue;
        };
        let i = number(doc.line).max(1) - 1;
        let object = Object {
            file: file.to_string(),
            document: i + 1,
            item: None,
            value: Marked {
                key_line: None,
                ..doc
            },
            prefix: String::new(),
            text: shared.clone(),
        };
        if !matches!(object.value.value, Yaml::Map(_)) {
            return Err(ImportError::Bad(format!(
                "{file}:{}: document {}: not a Kubernetes object (a mapping with apiVersion and kind)",
                object.value.line,
                i + 1
            )));
        }
        for key in ["apiVersion", "kind"] {
            if object.value.str_at(key).is_none() {
                return Err(object.error(
                    key,
                    format!("not a Kubernetes object: no {key} (a string) in this document"),
                ));
            }
        }
        if object.kind() == "List" || object.kind().ends_with("List") {
            let Some(Marked {
                value: Yaml::Seq(items),
                ..
            }) = object.value.at("items")
            else {
                return Err(object.error("items", "a List needs items (a sequence)"));
            };
            for (k, item) in items.iter().enumerate() {
                let o = Object {
                    item: Some(k),
                    value: Marked {
                        key_line: None,
                        ..item.clone()
                    },
                    prefix: format!("items.{k}."),
                    ..object.clone()
                };
                for key in ["apiVersion", "kind"] {
                    if o.value.str_at(key).is_none() {
                        return Err(o.error(key, format!("not a Kubernetes object: no {key}")));
                    }
                }
                out.push(o);
            }
        } else {
            out.push(object);
        }
    }
    Ok(out)
}

fn first_line(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_every_value() {
        let text = "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\ndata:\n  k: v\n---\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n";
        let objs = objects("f.yaml", text).unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].value.line_of("metadata.name"), 5);
        assert_eq!(objs[0].value.str_at("metadata.labels.a"), Some("1"));
        assert_eq!(objs[0].source("data.k"), "f.yaml:9");
        assert_eq!(objs[1].kind(), "Deployment");
        assert_eq!(objs[1].document, 3);
        assert_eq!(objs[1].item, Some(0));
        assert_eq!(objs[1].value.line_of("metadata.name"), 17);
        let e = objs[1].error("spec.replicas", "bad").to_string();
        assert!(
            e.contains(
                "f.yaml:15: document 3, items[0] (Deployment d): items.0.spec.replicas: bad"
            ),
            "{e}"
        );
    }

    #[test]
    fn scalars_keep_their_yaml_types() {
        let objs = objects(
            "f",
            "apiVersion: v1\nkind: X\na: 1\nb: \"1\"\nc: true\nd: 2.5\ne: null\n",
        )
        .unwrap();
        let v = &objs[0].value;
        assert_eq!(v.at("a").unwrap().value, Yaml::Int(1));
        assert_eq!(v.at("b").unwrap().value, Yaml::Str("1".into()));
        assert_eq!(v.at("c").unwrap().value, Yaml::Bool(true));
        assert_eq!(v.at("d").unwrap().value, Yaml::Float(2.5));
        assert_eq!(v.at("e").unwrap().value, Yaml::Null);
    }

    #[test]
    fn what_is_not_kubernetes_is_refused_with_its_place() {
        let e = objects("f", "apiVersion: v1\nkind: X\n---\n- a\n- b\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f:4: document 2: not a Kubernetes object"),
            "{e}"
        );
        let e = objects("f", "kind: X\n").unwrap_err().to_string();
        assert!(e.contains("no apiVersion"), "{e}");
        let e = objects("f", "a: [\n").unwrap_err().to_string();
        assert!(e.starts_with("f: not YAML"), "{e}");
    }
}
