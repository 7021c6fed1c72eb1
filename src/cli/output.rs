//! Where results go: standard output or a file created before the work starts.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::CliError;

pub enum Sink {
    Stdout,
    File(File, String),
}

impl Sink {
    /// Opens `--out` now, so that a bad path fails before a long run; `-` is stdout.
    pub fn open(out: Option<&Path>) -> Result<Sink, CliError> {
        match out {
            None => Ok(Sink::Stdout),
            Some(p) if p == Path::new("-") => Ok(Sink::Stdout),
            Some(p) => File::create(p)
                .map(|f| Sink::File(f, p.display().to_string()))
                .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", p.display()))),
        }
    }

    /// Writes `text`; a closed pipe on stdout (`hasim … | head`) is not an error.
    pub fn write(self, text: &str) -> Result<(), CliError> {
        match self {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                    Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Failed(
                        format!("cannot write to standard output: {e}"),
                    )),
                    _ => Ok(()),
                }
            }
            Sink::File(mut f, name) => f
                .write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| CliError::Failed(format!("cannot write {name}: {e}"))),
        }
    }
}
