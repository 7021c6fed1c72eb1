//! Calibration files: measured samples with their source, the chosen fit and the
//! alternatives, under `[distributions.NAME]`; models refer to an entry as
//! `{ calibration = "FILE", name = "NAME" }`.

use std::path::Path;

use super::fit::{Fit, Sample};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file exists but is not a calibration file.
    #[error("{0}")]
    Bad(String),
    #[error("{0}")]
    Io(String),
}

/// A fit as a calibration-file table: the model's distribution syntax, seconds as numbers.
pub fn fit_table(f: &Fit) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("dist".into(), f.family.name().into());
    for (k, v) in &f.params {
        t.insert((*k).into(), (*v).into());
    }
    t
}

/// Writes or replaces one entry of a calibration file, keeping the others.
pub fn write_entry(
    path: &Path,
    name: &str,
    source: &str,
    samples: &[Sample],
    fits: &[Fit],
) -> Result<(), FileError> {
    let mut doc: toml::Table = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            FileError::Bad(format!("{}: not a calibration file: {e}", path.display()))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => {
            return Err(FileError::Io(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut entry = toml::Table::new();
    entry.insert("source".into(), source.into());
    entry.insert(
        "samples".into(),
        samples
            .iter()
            .map(|s| toml::Value::from(s.value))
            .collect::<Vec<_>>()
            .into(),
    );
    if samples.iter().any(|s| s.censored) {
        entry.insert(
            "censored".into(),
            samples
                .iter()
                .map(|s| toml::Value::from(s.censored))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    entry.insert("fit".into(), fit_table(&fits[0]).into());
    entry.insert("aic".into(), fits[0].aic.into());
    let alternatives: Vec<toml::Value> = fits[1..]
        .iter()
        .map(|f| {
            let mut t = fit_table(f);
            t.insert("aic".into(), f.aic.into());
            t.into()
        })
        .collect();
    if !alternatives.is_empty() {
        entry.insert("alternatives".into(), alternatives.into());
    }
    let dists = doc
        .entry("distributions")
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .ok_or_else(|| {
            FileError::Bad(format!("{}: distributions is not a table", path.display()))
        })?;
    dists.insert(name.into(), entry.into());
    let text = format!(
        "# Calibration file: measured restart times and their fits (written by hasim fit / hasim calibrate).\n{}",
        toml::to_string(&doc).map_err(|e| FileError::Io(e.to_string()))?
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| FileError::Io(format!("cannot write {}: {e}", path.display())))
}
