//! Where results go: standard output, or a file prepared before the work starts and made
//! final only when the result is complete (see [`crate::fsio`]).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::CliError;
use crate::fsio::{Output, refuse_input};

pub enum Sink {
    Stdout(io::StdoutLock<'static>),
    File(Output),
}

impl Sink {
    /// Prepares `--out` now, so that a bad path fails before a long run; `-` (or none) is
    /// standard output. An `--out` that is one of `inputs` is refused (exit 2) before
    /// anything is opened for writing.
    pub fn open(out: Option<&Path>, inputs: &[PathBuf]) -> Result<Sink, CliError> {
        match out {
            None => Ok(Sink::Stdout(io::stdout().lock())),
            Some(p) if p == Path::new("-") => Ok(Sink::Stdout(io::stdout().lock())),
            Some(p) => {
                refuse_input("--out", p, inputs).map_err(CliError::BadInput)?;
                Output::create(p)
                    .map(Sink::File)
                    .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", p.display())))
            }
        }
    }

    fn name(&self) -> &str {
        match self {
            Sink::Stdout(_) => "standard output",
            Sink::File(o) => o.shown(),
        }
    }

    /// Writes `text` and makes the output final; a closed pipe on stdout
    /// (`hasim … | head`) is not an error.
    pub fn write(mut self, text: &str) -> Result<(), CliError> {
        match self.write_all(text.as_bytes()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(CliError::Failed(format!(
                "cannot write {}: {e}",
                self.name()
            ))),
            Ok(()) => self.finish(),
        }
    }

    /// Writes one line now (a streamed output); `Ok(false)` when standard output was
    /// closed by its reader, which ends the command quietly.
    pub fn line(&mut self, line: &str) -> Result<bool, CliError> {
        match writeln!(self, "{line}").and_then(|()| self.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(CliError::Failed(format!(
                "cannot write {}: {e}",
                self.name()
            ))),
        }
    }

    /// Makes the output final: a file replaces its destination only now.
    pub fn finish(self) -> Result<(), CliError> {
        match self {
            Sink::Stdout(mut s) => match s.flush() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Failed(format!(
                    "cannot write to standard output: {e}"
                ))),
                _ => Ok(()),
            },
            Sink::File(o) => {
                let name = o.shown().to_string();
                o.commit()
                    .map_err(|e| CliError::Failed(format!("cannot write {name}: {e}")))
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(o) => o.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(o) => o.flush(),
        }
    }
}
