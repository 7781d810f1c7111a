//! Writing command output to stdout, where a closed pipe (`opsloop search x | head`) ends the
//! command quietly instead of failing it.

use std::io::{self, Write};

/// Buffered stdout (or any writer, in tests).
pub struct Out {
    writer: Box<dyn Write>,
}

impl Out {
    pub fn stdout() -> Self {
        Self { writer: Box::new(io::BufWriter::new(io::stdout().lock())) }
    }

    pub fn new(writer: Box<dyn Write>) -> Self {
        Self { writer }
    }

    /// Writes one line.
    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        self.writer.write_all(text.as_ref().as_bytes())?;
        self.writer.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        let _ = self.writer.flush();
    }
}

/// Whether `error` is, at its root, a write to a closed pipe.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io_error| io_error.kind() == io::ErrorKind::BrokenPipe)
    })
}
