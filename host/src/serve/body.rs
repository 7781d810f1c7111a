//! Request bodies: received in full within `body_read_timeout_ms` (else 408 `body_timeout`),
//! at most `max_body_bytes` as sent (else 413 `body_too_large`), and decompressed on the fly
//! when `Content-Encoding: gzip` says so, with the decompressed size held to the same limit:
//! a gzip bomb stops at the limit, never in memory whole. Other encodings are answered 415.
//!
//! In: a request. Out: a [`RequestBody`] that reads as a stream ([`RequestBody::reader`], what
//! the log parser consumes line by line) or whole ([`RequestBody::to_vec`], for reports).

use std::io::{self, BufRead, BufReader, Read};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};

use super::error::ApiError;

/// How a body was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

/// A request body as received, not yet decompressed.
pub struct RequestBody {
    raw: Bytes,
    encoding: Encoding,
    /// The most bytes it may decompress to.
    limit: usize,
}

/// The error a reader over a body returns past the decompressed limit; [`ApiError`]s are made
/// from it with [`too_large`].
#[derive(Debug, thiserror::Error)]
#[error("the body decompresses to more than {limit} bytes, the most accepted")]
pub struct DecompressedTooLarge {
    pub limit: usize,
}

impl RequestBody {
    /// Reads the body of `request` within `timeout` and `limit` bytes.
    pub async fn receive(request: Request, limit: usize, timeout: Duration) -> Result<Self, ApiError> {
        let encoding = match request.headers().get(header::CONTENT_ENCODING).map(|value| value.to_str()) {
            None => Encoding::Identity,
            Some(Ok(value)) if value.trim().eq_ignore_ascii_case("identity") || value.trim().is_empty() => {
                Encoding::Identity
            }
            Some(Ok(value))
                if value.trim().eq_ignore_ascii_case("gzip") || value.trim().eq_ignore_ascii_case("x-gzip") =>
            {
                Encoding::Gzip
            }
            Some(value) => {
                let named = value.unwrap_or("?");
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_encoding",
                    format!("Content-Encoding `{named}`: gzip or identity"),
                ));
            }
        };
        let read = tokio::time::timeout(timeout, Bytes::from_request(request, &())).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the body did not arrive in full within {} ms; nothing was stored", timeout.as_millis()),
            )
        })?;
        let raw = match read {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    rejection.status(),
                    "body_too_large",
                    format!("the body is larger than {limit} bytes (max_body_bytes); nothing was stored"),
                ));
            }
            Err(rejection) => return Err(ApiError::new(rejection.status(), "bad_body", rejection.body_text())),
        };
        Ok(Self { raw, encoding, limit })
    }

    /// A body over bytes already in memory.
    #[cfg(test)]
    pub fn from_bytes(raw: Bytes, encoding: Encoding, limit: usize) -> Self {
        Self { raw, encoding, limit }
    }

    /// The bytes as sent (what an idempotency key's body digest is taken of).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The decompressed content as a stream; past the limit it fails with
    /// [`DecompressedTooLarge`].
    pub fn reader(&self) -> Box<dyn BufRead + Send> {
        let raw = io::Cursor::new(self.raw.clone());
        match self.encoding {
            Encoding::Identity => Box::new(raw),
            Encoding::Gzip => Box::new(BufReader::with_capacity(
                64 << 10,
                Capped { inner: flate2::read::MultiGzDecoder::new(raw), left: self.limit as u64, limit: self.limit },
            )),
        }
    }

    /// The decompressed content whole.
    pub fn to_vec(&self) -> Result<Vec<u8>, ApiError> {
        if self.encoding == Encoding::Identity {
            return Ok(self.raw.to_vec());
        }
        let mut content = Vec::new();
        self.reader().read_to_end(&mut content).map_err(|error| read_error(&error))?;
        Ok(content)
    }
}

/// The answer for an error met while reading a body's content.
pub fn read_error(error: &io::Error) -> ApiError {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<DecompressedTooLarge>()) {
        Some(too_large) => too_large_error(too_large),
        None => ApiError::bad_request("bad_body", format!("the body cannot be read: {error}")),
    }
}

fn too_large_error(error: &DecompressedTooLarge) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", error.to_string())
}

/// A reader that fails once more than `limit` bytes came out of `inner`.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: usize,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // One byte past the limit is asked for, to tell "exactly at the limit" from "over".
        let want = buffer.len().min(self.left as usize + 1);
        if want == 0 {
            return Ok(0);
        }
        let read = self.inner.read(&mut buffer[..want])?;
        if read as u64 > self.left {
            return Err(io::Error::other(DecompressedTooLarge { limit: self.limit }));
        }
        self.left -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap().into()
    }

    #[test]
    fn gzip_is_decompressed_and_held_to_the_limit() {
        let body = RequestBody::from_bytes(gzip(b"one\ntwo\n"), Encoding::Gzip, 8);
        assert_eq!(body.to_vec().unwrap(), b"one\ntwo\n", "exactly at the limit is fine");
        // A bomb: 10 MB of zeros compress to about 10 KB.
        let bomb = RequestBody::from_bytes(gzip(&vec![0u8; 10 << 20]), Encoding::Gzip, 1 << 20);
        assert!(bomb.raw().len() < 64 << 10);
        let error = bomb.to_vec().unwrap_err();
        assert_eq!((error.status, error.code), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));
        let corrupt = RequestBody::from_bytes(Bytes::from_static(b"\x1f\x8bnot gzip"), Encoding::Gzip, 100);
        assert_eq!(corrupt.to_vec().unwrap_err().code, "bad_body");
        let plain = RequestBody::from_bytes(Bytes::from_static(b"as is"), Encoding::Identity, 100);
        assert_eq!(plain.to_vec().unwrap(), b"as is");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

        /// Any bytes sent as gzip, whole or cut short or corrupted, decompress within the limit
        /// or are refused with an answer; never a panic.
        #[test]
        fn any_gzip_body_decompresses_within_the_limit_or_is_refused(
            content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            cut in 0usize..100,
            flip in proptest::option::of(0usize..4000),
        ) {
            let mut sent = gzip(&content).to_vec();
            sent.truncate(sent.len().saturating_sub(cut % 4));
            if let Some(at) = flip && !sent.is_empty() {
                let at = at % sent.len();
                sent[at] ^= 0x5a;
            }
            let body = RequestBody::from_bytes(Bytes::from(sent), Encoding::Gzip, 1000);
            match body.to_vec() {
                Ok(decompressed) => proptest::prop_assert!(decompressed.len() <= 1000),
                Err(error) => proptest::prop_assert!(["body_too_large", "bad_body"].contains(&error.code)),
            }
        }
    }
}
