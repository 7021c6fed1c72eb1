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

/// The top-level key of a calibration file; any other makes a file something else.
const ROOT: &str = "distributions";

/// Reads an existing calibration file for editing (`None` if there is none): refused if
/// it is not one (not TOML, or keys other than `[distributions]`, e.g. a model).
fn existing(path: &Path) -> Result<Option<toml_edit::DocumentMut>, FileError> {
    let shown = path.display();
    let text = match crate::fsio::read_text(path, crate::fsio::TEXT_CAP) {
        Ok(t) => t,
        Err(crate::fsio::ReadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None);
        }
        Err(crate::fsio::ReadError::Refused(m)) => return Err(FileError::Bad(m)),
        Err(e) => return Err(FileError::Io(e.to_string())),
    };
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| {
        FileError::Bad(format!(
            "{shown}: not a calibration file (not TOML: {}); refusing to write into it",
            format!("{e}").lines().next().unwrap_or("")
        ))
    })?;
    if let Some((key, _)) = doc.iter().find(|(k, _)| *k != ROOT) {
        return Err(FileError::Bad(format!(
            "{shown}: not a calibration file (it has `{key}`; a calibration file holds only [{ROOT}.NAME] entries); refusing to write into it"
        )));
    }
    if doc.get(ROOT).is_some_and(|d| !d.is_table_like()) {
        return Err(FileError::Bad(format!("{shown}: {ROOT} is not a table")));
    }
    Ok(Some(doc))
}

/// Checks, before any measurement, that `path` can take an entry: it is a calibration
/// file or does not exist yet, in a folder that exists.
pub fn check_target(path: &Path) -> Result<(), FileError> {
    existing(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(FileError::Bad(format!(
            "{}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Writes or replaces entry `name` of calibration file `path`, keeping everything else in
/// it as it was (other entries, comments, layout); the file is replaced atomically.
pub fn write_entry(
    path: &Path,
    name: &str,
    source: &str,
    samples: &[Sample],
    fits: &[Fit],
) -> Result<(), FileError> {
    write_items(
        path,
        vec![(name.to_string(), entry_item(name, source, samples, fits)?)],
    )
}

/// Writes `items` as `[distributions.NAME]` entries into the calibration file at `path`
/// in one atomic replacement (each entry replaced, everything else kept as it was,
/// comments included); a file that is not a calibration file is refused.
pub fn write_items(path: &Path, items: Vec<(String, toml_edit::Item)>) -> Result<(), FileError> {
    let mut doc = match existing(path)? {
        Some(doc) => doc,
        None => {
            let mut doc = toml_edit::DocumentMut::new();
            doc.decor_mut().set_prefix(
                "# Calibration file: measured restart times, failure rates and their fits (written by hasim fit / hasim calibrate).\n",
            );
            doc
        }
    };
    let dists = doc
        .entry(ROOT)
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or_else(|| FileError::Bad(format!("{}: {ROOT} is not a table", path.display())))?;
    for (name, item) in items {
        dists.insert(&name, item);
    }
    // Each entry's tables together, in the file's order: number every table depth-first
    // (entries from separate documents would otherwise interleave their sub-tables).
    if let Some(t) = doc.get_mut(ROOT).and_then(toml_edit::Item::as_table_mut) {
        let mut next = 0;
        renumber(t, &mut next);
    }
    crate::fsio::write_atomic(path, doc.to_string().as_bytes())
        .map_err(|e| FileError::Io(format!("cannot write {}: {e}", path.display())))
}

fn renumber(t: &mut toml_edit::Table, next: &mut isize) {
    t.set_position(Some(*next));
    *next += 1;
    for (_, item) in t.iter_mut() {
        match item {
            toml_edit::Item::Table(sub) => renumber(sub, next),
            toml_edit::Item::ArrayOfTables(a) => {
                for sub in a.iter_mut() {
                    renumber(sub, next);
                }
            }
            _ => {}
        }
    }
}

/// A failure rate as an entry: `fit` is the exponential at the posterior mean rate (so
/// `every = { calibration = …, name = … }` uses it), `rate` keeps the count, the exposure
/// and every estimate (rates per second).
pub fn rate_item(
    name: &str,
    source: &str,
    r: &super::rates::RateEstimate,
) -> Result<toml_edit::Item, FileError> {
    let mut entry = toml::Table::new();
    entry.insert("source".into(), source.into());
    let mut fit = toml::Table::new();
    fit.insert("dist".into(), "exponential".into());
    fit.insert("mean".into(), (1.0 / r.mean).into());
    // The posterior on the rate, for `hasim run --uncertainty`.
    let mut uncertain = toml::Table::new();
    uncertain.insert("dist".into(), "gamma".into());
    uncertain.insert("shape".into(), r.posterior.shape.into());
    uncertain.insert("exposure".into(), r.posterior.rate.into());
    fit.insert("uncertain".into(), uncertain.into());
    entry.insert("fit".into(), fit.into());
    let mut rate = toml::Table::new();
    rate.insert("count".into(), (r.count as i64).into());
    rate.insert("exposure".into(), r.exposure_seconds.into());
    rate.insert("mle".into(), r.mle.into());
    rate.insert("mean".into(), r.mean.into());
    rate.insert("prior_shape".into(), r.prior.shape.into());
    rate.insert("prior_rate".into(), r.prior.rate.into());
    rate.insert("posterior_shape".into(), r.posterior.shape.into());
    rate.insert("posterior_rate".into(), r.posterior.rate.into());
    rate.insert("level".into(), r.level.into());
    rate.insert("credible_low".into(), r.credible.low.into());
    rate.insert("credible_high".into(), r.credible.high.into());
    rate.insert("chi_square_low".into(), r.chi_square.low.into());
    rate.insert("chi_square_high".into(), r.chi_square.high.into());
    entry.insert("rate".into(), rate.into());
    item_of(name, entry)
}

/// One entry as a `[distributions.NAME]` table, laid out as TOML writes it.
pub fn entry_item(
    name: &str,
    source: &str,
    samples: &[Sample],
    fits: &[Fit],
) -> Result<toml_edit::Item, FileError> {
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
    item_of(name, entry)
}

/// A table as the `[distributions.NAME]` item TOML writes for it.
fn item_of(name: &str, entry: toml::Table) -> Result<toml_edit::Item, FileError> {
    let mut entries = toml::Table::new();
    entries.insert(name.into(), entry.into());
    let mut root = toml::Table::new();
    root.insert(ROOT.into(), entries.into());
    let text = toml::to_string(&root).map_err(|e| FileError::Io(e.to_string()))?;
    let fresh: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| FileError::Io(format!("an entry that does not read back: {e}")))?;
    fresh
        .get(ROOT)
        .and_then(|d| d.get(name))
        .cloned()
        .ok_or_else(|| FileError::Io("an entry that does not read back".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::fit::fit_all;

    fn samples() -> Vec<Sample> {
        [1.0, 1.5, 2.0, 2.5, 3.5]
            .iter()
            .map(|v| Sample {
                value: *v,
                censored: false,
            })
            .collect()
    }

    #[test]
    fn an_entry_is_written_and_everything_else_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cal.toml");
        let mine = "# my notes on these measurements\n[distributions.other]\n# keep me\nsamples = [1.0, 2.0]   # two trials\nfit = { dist = \"exponential\", mean = 1.5 }\n";
        std::fs::write(&p, mine).unwrap();
        let s = samples();
        let fits = fit_all(&s).unwrap();
        write_entry(&p, "new", "test", &s, &fits).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(mine), "{text}");
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert!(doc["distributions"]["new"]["fit"]["dist"].is_str());
        // Replacing the entry keeps the rest too.
        write_entry(&p, "new", "again", &s, &fits).unwrap();
        let again = std::fs::read_to_string(&p).unwrap();
        assert!(
            again.starts_with(mine) && again.contains("\"again\""),
            "{again}"
        );
        assert_eq!(again.matches("[distributions.new]").count(), 1, "{again}");
    }

    #[test]
    fn a_file_that_is_not_a_calibration_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = samples();
        let fits = fit_all(&s).unwrap();
        for text in [
            "[system]\nread_path = [\"C\"]\n",
            "not toml at all [",
            "distributions = 3\n",
        ] {
            let p = dir.path().join("model.toml");
            std::fs::write(&p, text).unwrap();
            assert!(
                matches!(write_entry(&p, "x", "", &s, &fits), Err(FileError::Bad(_))),
                "{text}"
            );
            assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
        }
    }
}
