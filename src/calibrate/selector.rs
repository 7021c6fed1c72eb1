//! `--stage NAME=SELECTOR`: Pods grouped into a stage by a Kubernetes label selector
//! instead of their owner. The selector is kubectl's (`-l`): requirements joined by
//! commas, each `key=value` (or `==`), `key!=value`, `key in (a,b)`, `key notin (a,b)`,
//! `key` (the label is set) or `!key` (it is not); a Pod matches when every requirement
//! holds (apimachinery's `labels.Parse`).

use std::collections::BTreeMap;

/// One requirement of a selector.
#[derive(Clone, Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A label selector.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    text: String,
    requirements: Vec<Requirement>,
}

/// A stage and the selector of its Pods.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSelector {
    pub stage: String,
    pub selector: Selector,
}

impl StageSelector {
    /// `NAME=SELECTOR`, as the flag is given: the name up to the first `=`.
    pub fn parse(text: &str) -> Result<StageSelector, String> {
        let (name, sel) = text.split_once('=').ok_or_else(|| {
            format!("--stage {text}: expected NAME=SELECTOR, e.g. influxdb=app=influxdb")
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("--stage {text}: an empty stage name"));
        }
        Ok(StageSelector {
            stage: name.to_string(),
            selector: Selector::parse(sel).map_err(|e| format!("--stage {text}: {e}"))?,
        })
    }
}

/// The first stage whose selector matches `labels`.
pub fn stage_of<'a>(
    stages: &'a [StageSelector],
    labels: &BTreeMap<String, String>,
) -> Option<&'a str> {
    stages
        .iter()
        .find(|s| s.selector.matches(labels))
        .map(|s| s.stage.as_str())
}

/// A label key or value: letters, digits, `-`, `_`, `.`, and `/` in a key's prefix.
fn valid(word: &str, key: bool) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c) || (key && c == '/'))
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = vec![];
        for part in split_top(text)? {
            let part = part.trim();
            let word = |w: &str, key: bool| -> Result<String, String> {
                let w = w.trim();
                if valid(w, key) {
                    Ok(w.to_string())
                } else {
                    Err(format!(
                        "selector {text:?}: {w:?} is not a label {}",
                        if key { "key" } else { "value" }
                    ))
                }
            };
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("selector {text:?}: {part:?}: expected (v1,v2,…)"))?;
                inner.split(',').map(|v| word(v, false)).collect()
            };
            let r = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(word(k, true)?, word(v, false)?)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(word(k, true)?, word(v, false)?)
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(word(k, true)?, set(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(word(k, true)?, set(rest)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(word(k, true)?)
            } else {
                Requirement::Exists(word(part, true)?)
            };
            requirements.push(r);
        }
        if requirements.is_empty() {
            return Err(format!(
                "selector {text:?} is empty (it would match every Pod)"
            ));
        }
        Ok(Selector {
            text: text.trim().to_string(),
            requirements,
        })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
        })
    }

    /// The selector with its keys as Prometheus label names (kube-state-metrics'
    /// `kube_pod_labels` writes `app.kubernetes.io/name` as `label_app_kubernetes_io_name`;
    /// the `label_` prefix is the caller's to strip).
    pub fn sanitized(&self) -> Selector {
        let key = |k: &String| -> String {
            k.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let requirements = self
            .requirements
            .iter()
            .map(|r| match r {
                Requirement::Equals(k, v) => Requirement::Equals(key(k), v.clone()),
                Requirement::NotEquals(k, v) => Requirement::NotEquals(key(k), v.clone()),
                Requirement::In(k, vs) => Requirement::In(key(k), vs.clone()),
                Requirement::NotIn(k, vs) => Requirement::NotIn(key(k), vs.clone()),
                Requirement::Exists(k) => Requirement::Exists(key(k)),
                Requirement::Absent(k) => Requirement::Absent(key(k)),
            })
            .collect();
        Selector {
            text: self.text.clone(),
            requirements,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `text` split at the commas outside parentheses.
fn split_top(text: &str) -> Result<Vec<&str>, String> {
    let (mut out, mut depth, mut start) = (vec![], 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("selector {text:?}: a ')' without its '('"));
        }
    }
    if depth != 0 {
        return Err(format!("selector {text:?}: a '(' without its ')'"));
    }
    out.push(&text[start..]);
    Ok(out.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_as_kubectl_does() {
        let pod = labels(&[
            ("app", "influxdb"),
            ("tier", "db"),
            ("app.kubernetes.io/part-of", "metrics"),
        ]);
        for (sel, want) in [
            ("app=influxdb", true),
            ("app==influxdb", true),
            ("app=telegraf", false),
            ("app!=telegraf", true),
            ("app=influxdb,tier=db", true),
            ("app=influxdb,tier=web", false),
            ("tier in (db,cache)", true),
            ("tier notin (db,cache)", false),
            ("canary notin (yes)", true),
            ("app.kubernetes.io/part-of=metrics", true),
            ("tier", true),
            ("!tier", false),
            ("!canary, app = influxdb", true),
        ] {
            let s = Selector::parse(sel).unwrap();
            assert_eq!(s.matches(&pod), want, "{sel}");
        }
        let st = StageSelector::parse("C=app=influxdb").unwrap();
        assert_eq!(st.stage, "C");
        assert_eq!(stage_of(&[st], &pod), Some("C"));
    }

    #[test]
    fn bad_selectors_are_refused() {
        for (sel, says) in [
            ("", "is empty"),
            ("app=in flux", "not a label value"),
            ("tier in db", "expected (v1,v2,…)"),
            ("tier in (db", "without its ')'"),
            ("a b", "not a label key"),
        ] {
            let e = Selector::parse(sel).unwrap_err();
            assert!(e.contains(says), "{sel}: {e}");
        }
        assert!(
            StageSelector::parse("influxdb")
                .unwrap_err()
                .contains("NAME=SELECTOR")
        );
        assert!(
            StageSelector::parse("=app=x")
                .unwrap_err()
                .contains("empty stage name")
        );
    }
}
