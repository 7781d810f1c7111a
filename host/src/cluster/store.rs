//! Where a cluster's index pieces and partition state live: S3-compatible object storage
//! (`s3://BUCKET/PREFIX`, configured by the usual `AWS_*` environment) or a directory
//! (`file:///path`), through `object_store`. Objects are written once and never changed; what
//! is current is said by the catalog in JetStream, not by listing the store.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where `--store` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    S3 { bucket: String, prefix: String },
    Directory(std::path::PathBuf),
}

/// Reads `s3://BUCKET/PREFIX` or `file:///path`.
pub fn parse_location(text: &str) -> Result<Location, String> {
    if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("--store {text}: no bucket (s3://BUCKET/PREFIX)"));
        }
        return Ok(Location::S3 { bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() });
    }
    if let Some(path) = text.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(format!("--store {text}: a file store takes an absolute path (file:///path)"));
        }
        return Ok(Location::Directory(path.into()));
    }
    Err(format!("--store {text}: s3://BUCKET/PREFIX or file:///path"))
}

/// An error of the store, naming the object and saying the innermost cause once (the
/// client's own message repeats each layer of its retries, so it is not given as the source
/// a log line would print the chain of).
#[derive(Debug, thiserror::Error)]
#[error("store {location}, {object}: {}", innermost(cause))]
pub struct StoreError {
    location: String,
    object: String,
    cause: object_store::Error,
}

/// The last error in `error`'s chain of causes.
fn innermost(error: &object_store::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    match error {
        object_store::Error::NotFound { .. } => format!("not found ({text})"),
        _ => text,
    }
}

impl StoreError {
    /// The object is not there (as opposed to a store that did not answer).
    pub fn is_not_found(&self) -> bool {
        matches!(self.cause, object_store::Error::NotFound { .. })
    }
}

/// The store the pieces go to.
pub struct PieceStore {
    inner: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    location: String,
}

impl PieceStore {
    /// Opens the store `--store` names (nothing is contacted yet).
    pub fn open(text: &str) -> anyhow::Result<Self> {
        let (inner, prefix): (Arc<dyn ObjectStore>, String) = match parse_location(text).map_err(anyhow::Error::msg)? {
            Location::S3 { bucket, prefix } => {
                let endpoint_is_plain = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                    .iter()
                    .any(|name| std::env::var(name).is_ok_and(|url| url.starts_with("http://")));
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(endpoint_is_plain)
                    .build()
                    .map_err(|error| anyhow::anyhow!("--store {text}: {error}"))?;
                (Arc::new(store), prefix)
            }
            Location::Directory(path) => {
                std::fs::create_dir_all(&path).map_err(|error| anyhow::anyhow!("--store {text}: {error}"))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&path)
                    .map_err(|error| anyhow::anyhow!("--store {text}: {error}"))?;
                (Arc::new(store), String::new())
            }
        };
        Ok(Self { inner, prefix: ObjectPath::from(prefix), location: text.to_string() })
    }

    fn path(&self, name: &str) -> ObjectPath {
        name.split('/').filter(|part| !part.is_empty()).fold(self.prefix.clone(), |path, part| path.join(part))
    }

    fn error(&self, name: &str, source: object_store::Error) -> StoreError {
        StoreError { location: self.location.clone(), object: name.to_string(), cause: source }
    }

    /// Writes `bytes` as `name` (relative to the store's prefix).
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(&self.path(name), PutPayload::from(bytes)).await.map_err(|error| self.error(name, error))?;
        Ok(())
    }

    /// Reads the whole object `name`.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let result = self.inner.get(&self.path(name)).await.map_err(|error| self.error(name, error))?;
        let bytes = result.bytes().await.map_err(|error| self.error(name, error))?;
        Ok(bytes.to_vec())
    }

    /// The objects under the folder `prefix`: each one's name (as `put` takes it) and when it
    /// was last written (ms since the epoch).
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>, StoreError> {
        use futures_util::TryStreamExt;
        let base: Vec<String> = self.prefix.parts().map(|part| part.as_ref().to_string()).collect();
        let objects: Vec<object_store::ObjectMeta> =
            self.inner.list(Some(&self.path(prefix))).try_collect().await.map_err(|error| self.error(prefix, error))?;
        Ok(objects
            .into_iter()
            .map(|meta| {
                let parts: Vec<String> = meta.location.parts().map(|part| part.as_ref().to_string()).collect();
                (parts[base.len().min(parts.len())..].join("/"), meta.last_modified.timestamp_millis())
            })
            .collect())
    }

    /// Removes every object whose name starts with `prefix` (a folder: `pieces/<id>/`); how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        use futures_util::TryStreamExt;
        let path = self.path(prefix);
        let names: Vec<object_store::path::Path> = self
            .inner
            .list(Some(&path))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|error| self.error(prefix, error))?;
        for name in &names {
            match self.inner.delete(name).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(self.error(name.as_ref(), error)),
            }
        }
        Ok(names.len())
    }

    /// Removes `name`; one that is not there is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.inner.delete(&self.path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error(name, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Location, PieceStore, parse_location};

    #[test]
    fn a_store_is_s3_or_an_absolute_directory() {
        assert_eq!(
            parse_location("s3://logs/opsloop/a").unwrap(),
            Location::S3 { bucket: "logs".into(), prefix: "opsloop/a".into() }
        );
        assert_eq!(parse_location("s3://logs").unwrap(), Location::S3 { bucket: "logs".into(), prefix: "".into() });
        assert!(parse_location("s3:///x").is_err());
        assert!(parse_location("file://relative").is_err());
        assert!(parse_location("/tmp/x").is_err());
    }

    #[test]
    fn a_directory_store_keeps_what_was_put_under_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = PieceStore::open(&format!("file://{}", dir.path().display())).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            store.put("pieces/p1/a.json", b"{}".to_vec()).await.unwrap();
            assert_eq!(store.get("pieces/p1/a.json").await.unwrap(), b"{}");
            store.delete("pieces/p1/a.json").await.unwrap();
            store.delete("pieces/p1/a.json").await.unwrap();
            store.put("pieces/p2/a", b"a".to_vec()).await.unwrap();
            store.put("pieces/p2/b/c", b"c".to_vec()).await.unwrap();
            store.put("pieces/p22/a", b"a".to_vec()).await.unwrap();
            let mut listed: Vec<String> =
                store.list("pieces/").await.unwrap().into_iter().map(|(name, _)| name).collect();
            listed.sort();
            assert_eq!(listed, ["pieces/p2/a", "pieces/p2/b/c", "pieces/p22/a"]);
            assert_eq!(store.delete_prefix("pieces/p2/").await.unwrap(), 2);
            assert_eq!(store.delete_prefix("pieces/p2/").await.unwrap(), 0);
            assert_eq!(store.get("pieces/p22/a").await.unwrap(), b"a", "a prefix is a folder, not a string");
            let missing = store.get("pieces/p1/a.json").await.unwrap_err().to_string();
            assert!(missing.contains("pieces/p1/a.json"), "{missing}");
        });
        assert!(dir.path().join("pieces").is_dir());
    }
}
