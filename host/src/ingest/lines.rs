//! Splitting a byte stream into lines in bounded memory: a line longer than the cap is
//! skipped over (and reported with its length) without ever being held whole.

use std::io::{self, BufRead};

/// What the reader found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line of at most the cap, without its `\n` or `\r\n`; `number` is 1-based, `end` the
    /// offset just after its line end.
    Text { number: u64, bytes: &'a [u8], end: u64 },
    /// A line over the cap; only its length was kept.
    TooLong { number: u64, length: u64, end: u64 },
}

/// Reads lines of at most `max_line_bytes` from a buffered reader.
pub struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    number: u64,
    max_line_bytes: usize,
    /// Bytes consumed so far, including line ends.
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `inner` that reports lines longer than `max_line_bytes` as too long.
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self { inner, buffer: Vec::new(), number: 0, max_line_bytes, offset: 0 }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buffer.clear();
        let mut length: u64 = 0;
        let mut saw_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, consumed, ended) = match memchr::memchr(b'\n', available) {
                Some(position) => (&available[..position], position + 1, true),
                None => (available, available.len(), false),
            };
            length += chunk.len() as u64;
            if length <= self.max_line_bytes as u64 {
                self.buffer.extend_from_slice(chunk);
            }
            self.inner.consume(consumed);
            self.offset += consumed as u64;
            if ended {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if length > self.max_line_bytes as u64 {
            return Ok(Some(Line::TooLong { number: self.number, length, end: self.offset }));
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some(Line::Text { number: self.number, bytes: &self.buffer, end: self.offset }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Text { number, bytes, .. } => {
                    format!("{number}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong { number, length, .. } => format!("{number}:too long {length}"),
            });
        }
        out
    }

    #[test]
    fn splits_on_newlines_and_strips_carriage_returns() {
        assert_eq!(lines(b"a\r\nb\n\nc", 10), ["1:a", "2:b", "3:", "4:c"]);
    }

    #[test]
    fn long_lines_are_reported_with_their_length_and_reading_goes_on() {
        assert_eq!(lines(b"short\n0123456789abc\nnext\n", 8), ["1:short", "2:too long 13", "3:next"]);
    }

    #[test]
    fn a_long_line_across_buffer_refills_is_measured_whole() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\nok\n");
        let reader = std::io::BufReader::with_capacity(1024, &input[..]);
        let mut reader = LineReader::new(reader, 4096);
        assert_eq!(reader.next_line().unwrap(), Some(Line::TooLong { number: 1, length: 100_000, end: 100_001 }));
        assert_eq!(reader.next_line().unwrap(), Some(Line::Text { number: 2, bytes: b"ok", end: 100_004 }));
        assert_eq!(reader.next_line().unwrap(), None);
        assert_eq!(reader.offset(), 100_004);
    }
}
