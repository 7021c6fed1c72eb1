//! The files hasim reads and writes, handled so that nothing a user owns is lost.
//!
//! Reading: an input must be a regular file (a FIFO or `/dev/zero` given as a model is
//! refused, not read forever) no larger than a cap, and text must be UTF-8 (a bad byte is
//! named by its line and column).
//!
//! Writing: an output that names one of the command's inputs — through any path, `./`,
//! `..` or a symlink: the check compares device and inode — is refused before anything is
//! opened for writing. A regular file is replaced atomically: the result goes to a
//! temporary file beside it, which is synced and renamed over it only once complete, so a
//! run that fails leaves the old file as it was. A device, FIFO or anything under `/dev`
//! or `/proc` (`/dev/stdout`, `/dev/null`) is written where it is, never replaced.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The largest model, calibration, samples or manifest file read: 16 MiB.
pub const TEXT_CAP: u64 = 16 << 20;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused (missing file, permissions).
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    /// The file is there but is not something hasim reads (not a regular file, too large,
    /// not UTF-8): bad input.
    #[error("{0}")]
    Refused(String),
}

/// Opens `path` for reading if it is a regular file of at most `cap` bytes. The check
/// comes before the open: opening a FIFO would wait for a writer.
pub fn open_regular(path: &Path, cap: u64) -> Result<File, ReadError> {
    let shown = path.display().to_string();
    let io_err = |source| ReadError::Io {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        return Err(ReadError::Refused(format!(
            "{shown}: not a regular file ({}): hasim reads inputs from regular files only",
            file_kind(&meta)
        )));
    }
    if meta.len() > cap {
        return Err(too_large(&shown, cap));
    }
    File::open(path).map_err(io_err)
}

fn too_large(shown: &str, cap: u64) -> ReadError {
    ReadError::Refused(format!(
        "{shown}: larger than {} MiB, the most hasim reads from one input file",
        cap >> 20
    ))
}

/// The whole of a regular file of at most `cap` bytes, as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> Result<String, ReadError> {
    let file = open_regular(path, cap)?;
    // A file that grew after the check is refused as too large.
    read_capped(file, &path.display().to_string(), cap)
}

/// At most `cap` bytes of `from` as UTF-8 text (more is refused as too large).
fn read_capped(from: impl Read, shown: &str, cap: u64) -> Result<String, ReadError> {
    let mut bytes = vec![];
    from.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: shown.into(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(too_large(shown, cap));
    }
    utf8(shown, bytes)
}

/// [`read_text`], or for `-` standard input, held to the same cap.
pub fn read_input(path: &Path, cap: u64) -> Result<String, ReadError> {
    if !is_stdin(path) {
        return read_text(path, cap);
    }
    read_capped(io::stdin(), "standard input", cap)
}

/// Whether `path` names standard input (`-`) for [`read_input`].
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Refuses standard input named by more than one of `inputs` (each: the flag or argument
/// it was given as, and its path): it can be read only once, and a second read would see
/// nothing, as if that input were empty.
pub fn stdin_at_most_once<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a Path)>,
) -> Result<(), String> {
    let given: Vec<&str> = inputs
        .into_iter()
        .filter(|(_, path)| is_stdin(path))
        .map(|(name, _)| name)
        .collect();
    if given.len() > 1 {
        return Err(format!(
            "standard input ('-') is given {} times ({}): it can be read only once; save all but one of them to files",
            given.len(),
            given.join(", ")
        ));
    }
    Ok(())
}

/// `bytes` as text, or where the first byte that is not UTF-8 is (`file:line:col`).
pub fn utf8(shown: &str, bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let col = at - line_start + 1;
        ReadError::Refused(format!(
            "{shown}:{line}:{col}: not UTF-8 text (byte offset {at}); save the file as UTF-8"
        ))
    })
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Whether `a` and `b` are the same file (device and inode, symlinks followed); `false`
/// when either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Refuses an output `out` (given as `flag`) that is one of `inputs`.
pub fn refuse_input(flag: &str, out: &Path, inputs: &[PathBuf]) -> Result<(), String> {
    match inputs.iter().find(|i| same_file(out, i)) {
        Some(i) if Path::new(out) == i.as_path() => Err(format!(
            "{flag} {}: is an input of this command; refusing to overwrite it",
            out.display()
        )),
        Some(i) => Err(format!(
            "{flag} {}: is the input {} (the same file by another path); refusing to overwrite it",
            out.display(),
            i.display()
        )),
        None => Ok(()),
    }
}

/// Whether `path` is written where it is rather than replaced: anything under `/dev` or
/// `/proc`, and anything that exists and is not a regular file.
fn in_place(path: &Path) -> bool {
    let special = |p: &Path| p.starts_with("/dev") || p.starts_with("/proc");
    if special(path) {
        return true;
    }
    if let Ok(abs) = std::path::absolute(path)
        && special(&abs)
    {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// An output file being written: committed (renamed over its destination) by
/// [`Output::commit`]; dropped without it, the destination is left as it was.
pub struct Output {
    kind: Kind,
    shown: String,
}

enum Kind {
    InPlace(File),
    Replace {
        tmp: tempfile::NamedTempFile,
        dest: PathBuf,
    },
}

impl Output {
    /// Prepares `path`: a temporary file beside it (so that a missing directory or a
    /// read-only one fails now), or the device opened as it is.
    pub fn create(path: &Path) -> io::Result<Output> {
        let shown = path.display().to_string();
        if in_place(path) {
            let file = std::fs::OpenOptions::new().write(true).open(path)?;
            return Ok(Output {
                kind: Kind::InPlace(file),
                shown,
            });
        }
        // A symlink is followed: the file it names is replaced, the link stays.
        let dest = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)?;
        let mode = std::fs::metadata(&dest).map_or_else(
            |_| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            },
            |m| m.permissions(),
        );
        tmp.as_file().set_permissions(mode)?;
        Ok(Output {
            kind: Kind::Replace { tmp, dest },
            shown,
        })
    }

    /// The path as the user gave it, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Makes the output final: syncs the temporary file and renames it over the
    /// destination (a device is only flushed).
    pub fn commit(self) -> io::Result<()> {
        match self.kind {
            Kind::InPlace(mut f) => f.flush(),
            Kind::Replace { tmp, dest } => {
                tmp.as_file().sync_all()?;
                tmp.persist(&dest).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::InPlace(f) => f.write(buf),
            Kind::Replace { tmp, .. } => tmp.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            Kind::InPlace(f) => f.flush(),
            Kind::Replace { tmp, .. } => tmp.flush(),
        }
    }
}

/// Writes `bytes` to `path` atomically (see [`Output`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = Output::create(path)?;
    out.write_all(bytes)?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_named_by_line_and_column() {
        let e = utf8("m.toml", b"a = 1\nb = \"x\xff\"\n".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.toml:2:7: not UTF-8 text (byte offset 12); save the file as UTF-8"
        );
    }

    #[test]
    fn devices_and_fifos_are_refused_as_inputs() {
        for p in ["/dev/zero", "/dev/null", "/"] {
            match read_text(Path::new(p), TEXT_CAP) {
                Err(ReadError::Refused(m)) => assert!(m.contains("not a regular file"), "{m}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'#'; 2000]).unwrap();
        assert!(matches!(read_text(&p, 1000), Err(ReadError::Refused(_))));
        assert_eq!(read_text(&p, 2000).unwrap().len(), 2000);
    }

    #[test]
    fn an_uncommitted_output_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        std::fs::write(&p, "old").unwrap();
        let mut o = Output::create(&p).unwrap();
        o.write_all(b"new").unwrap();
        drop(o);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        let mut o = Output::create(&p).unwrap();
        o.write_all(b"new").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlinked_output_replaces_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        let link = dir.path().join("link.json");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn an_input_is_found_by_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.toml");
        std::fs::write(&model, "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let link = dir.path().join("l.toml");
        std::os::unix::fs::symlink(&model, &link).unwrap();
        let inputs = [model.clone()];
        for other in [
            model.clone(),
            dir.path().join("sub/../m.toml"),
            dir.path().join("./m.toml"),
            link,
        ] {
            assert!(refuse_input("--out", &other, &inputs).is_err(), "{other:?}");
        }
        assert!(refuse_input("--out", &dir.path().join("n.toml"), &inputs).is_ok());
    }

    #[test]
    fn dev_null_is_written_in_place() {
        let mut o = Output::create(Path::new("/dev/null")).unwrap();
        o.write_all(b"x").unwrap();
        o.commit().unwrap();
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_file()
                .eq(&false)
        );
    }
}
