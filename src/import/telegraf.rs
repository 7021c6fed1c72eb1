//! The parts of a `telegraf.conf` a model needs: how often it gathers, how it buffers and
//! flushes, what it collects and where it writes (Telegraf's defaults where a key is
//! absent: interval and flush_interval 10 s, metric_batch_size 1000,
//! metric_buffer_limit 10000, buffer_strategy "memory").

/// A value from the file and the line of the file's text it is on (1-based; `None`: a
/// Telegraf default).
#[derive(Clone, Debug, PartialEq)]
pub struct Val<T> {
    pub value: T,
    pub line: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Telegraf {
    /// Seconds between gathers.
    pub interval: Val<f64>,
    /// Seconds between flushes.
    pub flush_interval: Val<f64>,
    pub batch_size: Val<f64>,
    pub buffer_limit: Val<f64>,
    /// `buffer_strategy = "disk"`: the buffer outlives a restart.
    pub disk_buffer: Val<bool>,
    /// One per `[[outputs.influxdb]]` / `[[outputs.influxdb_v2]]` section (each has its
    /// own buffer; the URLs of one section are alternatives, written one at a time).
    pub outputs: Vec<Output>,
    pub inputs: Vec<Input>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub plugin: String,
    pub urls: Vec<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub plugin: String,
    pub line: usize,
    /// `inputs.cpu`: `percpu`, `totalcpu` (both default true).
    pub percpu: bool,
    pub totalcpu: bool,
}

/// Parses `text`; the error names the key, and the line of the text when known.
pub fn parse(text: &str) -> Result<Telegraf, (Option<usize>, String)> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        (line, e.message().trim().to_string())
    })?;
    read(text, &table).map_err(|e| (None, e))
}

fn read(text: &str, table: &toml::Table) -> Result<Telegraf, String> {
    let lines = Lines::new(text);
    let agent = match table.get("agent") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => return Err("agent: expected a table ([agent])".into()),
    };
    let duration = |key: &str, default: f64| -> Result<Val<f64>, String> {
        match agent.get(key) {
            None => Ok(Val {
                value: default,
                line: None,
            }),
            Some(v) => {
                let value = match v {
                    toml::Value::String(s) => go_duration(s),
                    toml::Value::Integer(i) => Some(*i as f64),
                    toml::Value::Float(f) => Some(*f),
                    _ => None,
                }
                .filter(|d| *d > 0.0)
                .ok_or_else(|| {
                    format!("agent.{key}: expected a positive duration like \"10s\", found {v}")
                })?;
                Ok(Val {
                    value,
                    line: lines.key("agent", key),
                })
            }
        }
    };
    let count =
        |t: &toml::Table, section: &str, key: &str, default: f64| -> Result<Val<f64>, String> {
            match t.get(key) {
                None => Ok(Val {
                    value: default,
                    line: None,
                }),
                Some(toml::Value::Integer(i)) if *i > 0 => Ok(Val {
                    value: *i as f64,
                    line: lines.key(section, key),
                }),
                Some(v) => Err(format!(
                    "{section}.{key}: expected a positive whole number, found {v}"
                )),
            }
        };
    let interval = duration("interval", 10.0)?;
    let flush_interval = duration("flush_interval", 10.0)?;
    let mut batch_size = count(&agent, "agent", "metric_batch_size", 1000.0)?;
    let mut buffer_limit = count(&agent, "agent", "metric_buffer_limit", 10000.0)?;
    let disk_buffer = match agent.get("buffer_strategy") {
        None => Val {
            value: false,
            line: None,
        },
        Some(toml::Value::String(s)) if s == "memory" || s == "disk" => Val {
            value: s == "disk",
            line: lines.key("agent", "buffer_strategy"),
        },
        Some(v) => {
            return Err(format!(
                "agent.buffer_strategy: \"memory\" or \"disk\", found {v}"
            ));
        }
    };
    let sections = |group: &str, plugin: &str| -> Vec<toml::Table> {
        match table.get(group).and_then(|g| g.get(plugin)) {
            Some(toml::Value::Array(items)) => {
                items.iter().filter_map(|i| i.as_table().cloned()).collect()
            }
            Some(toml::Value::Table(t)) => vec![t.clone()],
            _ => vec![],
        }
    };
    let mut outputs = Vec::new();
    for plugin in ["influxdb", "influxdb_v2"] {
        let header = format!("outputs.{plugin}");
        let heads = lines.headers(&header);
        for (k, t) in sections("outputs", plugin).iter().enumerate() {
            let urls = match t.get("urls") {
                None => vec!["http://localhost:8086".to_string()],
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .map(|u| {
                        u.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| format!("{header}.urls: expected strings, found {u}"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(v) => {
                    return Err(format!(
                        "{header}.urls: expected an array of URLs, found {v}"
                    ));
                }
            };
            let line = heads.get(k).copied().unwrap_or(1);
            // An output's own buffer settings override the agent's.
            if t.contains_key("metric_buffer_limit") {
                buffer_limit = count(t, &header, "metric_buffer_limit", 10000.0)?;
            }
            if t.contains_key("metric_batch_size") {
                batch_size = count(t, &header, "metric_batch_size", 1000.0)?;
            }
            outputs.push(Output {
                plugin: header.clone(),
                urls,
                line,
            });
        }
    }
    let mut inputs = Vec::new();
    if let Some(toml::Value::Table(groups)) = table.get("inputs") {
        for (plugin, v) in groups {
            let header = format!("inputs.{plugin}");
            let heads = lines.headers(&header);
            let items: Vec<toml::Table> = match v {
                toml::Value::Array(a) => a.iter().filter_map(|i| i.as_table().cloned()).collect(),
                toml::Value::Table(t) => vec![t.clone()],
                _ => vec![],
            };
            for (k, t) in items.iter().enumerate() {
                let flag = |key: &str| t.get(key).and_then(toml::Value::as_bool).unwrap_or(true);
                inputs.push(Input {
                    plugin: plugin.clone(),
                    line: heads.get(k).copied().unwrap_or(1),
                    percpu: flag("percpu"),
                    totalcpu: flag("totalcpu"),
                });
            }
        }
    }
    inputs.sort_by_key(|i| i.line);
    Ok(Telegraf {
        interval,
        flush_interval,
        batch_size,
        buffer_limit,
        disk_buffer,
        outputs,
        inputs,
    })
}

/// A Go duration (`"10s"`, `"1m30s"`, `"500ms"`, `"2h"`) in seconds.
pub fn go_duration(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Where keys and section headers are in the text.
struct Lines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            lines: text.lines().collect(),
        }
    }

    /// The line of each `[header]` / `[[header]]`, in order.
    fn headers(&self, header: &str) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                let t = l.trim();
                t == format!("[{header}]") || t == format!("[[{header}]]")
            })
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// The line of `key = …` inside the (first) table `section`.
    fn key(&self, section: &str, key: &str) -> Option<usize> {
        let mut current = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            let t = l.trim();
            if t.starts_with('[') {
                current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
                continue;
            }
            if current == section
                && t.strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            {
                return Some(i + 1);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("10s"), Some(10.0));
        assert_eq!(go_duration("1m30s"), Some(90.0));
        assert_eq!(go_duration("500ms"), Some(0.5));
        assert_eq!(go_duration("2h"), Some(7200.0));
        assert_eq!(go_duration("10"), None);
        assert_eq!(go_duration("5d"), None);
    }

    #[test]
    fn defaults_and_lines() {
        let t = parse("[agent]\n  interval = \"60s\"\n  metric_buffer_limit = 5000\n[[outputs.influxdb]]\n  urls = [\"http://a:8086\", \"http://b:8086\"]\n[[outputs.influxdb_v2]]\n  urls = [\"http://c:8086\"]\n  metric_batch_size = 500\n[[inputs.cpu]]\n  percpu = false\n[[inputs.mem]]\n").unwrap();
        assert_eq!(
            t.interval,
            Val {
                value: 60.0,
                line: Some(2)
            }
        );
        assert_eq!(
            t.flush_interval,
            Val {
                value: 10.0,
                line: None
            }
        );
        assert_eq!(
            t.buffer_limit,
            Val {
                value: 5000.0,
                line: Some(3)
            }
        );
        assert_eq!(
            t.batch_size,
            Val {
                value: 500.0,
                line: Some(8)
            }
        );
        assert!(!t.disk_buffer.value);
        assert_eq!(t.outputs.len(), 2);
        assert_eq!(t.outputs[0].urls.len(), 2);
        assert_eq!(t.outputs[1].line, 6);
        assert_eq!(t.inputs.len(), 2);
        assert!(!t.inputs[0].percpu && t.inputs[0].totalcpu);
        assert_eq!(t.inputs[1].plugin, "mem");
    }

    #[test]
    fn bad_configs_name_the_line_or_key() {
        assert_eq!(parse("[agent]\n[agent\n").unwrap_err().0, Some(2));
        let e = parse("[agent]\ninterval = \"often\"\n").unwrap_err().1;
        assert!(e.contains("agent.interval"), "{e}");
        let e = parse("[agent]\nbuffer_strategy = \"tape\"\n")
            .unwrap_err()
            .1;
        assert!(e.contains("buffer_strategy"), "{e}");
    }
}
