//! The exact bytes of every accepted upload, content-addressed by SHA-256
//! under `<lake>/_state/uploads/<first two hex digits>/<hash>`, so that every
//! submission can be re-derived from what the member actually sent. An
//! upload is written before the Delta commit that refers to it; a crash in
//! between leaves an unreferenced object, never a reference to a missing
//! one.

use sha2::{Digest, Sha256};

use crate::{Result, Store, StoreError};

/// The object of an upload's hash, if the hash is one (64 lowercase hex
/// digits; anything else could name another object).
fn upload_object(hash: &str) -> Option<object_store::path::Path> {
    let valid = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    valid.then(|| object_store::path::Path::from(format!("uploads/{}/{hash}", &hash[..2])))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Keeps the bytes of an upload and returns their SHA-256 (hex). The
    /// same bytes uploaded twice (at once, or through two replicas) are
    /// kept once.
    pub async fn archive_upload(&self, bytes: &[u8]) -> Result<String> {
        let hash = sha256_hex(bytes);
        let object = upload_object(&hash).ok_or_else(|| StoreError::Invalid("bad hash".into()))?;
        self.state
            .put_if_absent(&object, bytes::Bytes::copy_from_slice(bytes))
            .await?;
        Ok(hash)
    }

    /// The bytes of an archived upload, checked against their hash.
    pub async fn archived_upload(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let Some(object) = upload_object(hash) else {
            return Ok(None);
        };
        let Some(bytes) = self.state.get(&object).await? else {
            return Ok(None);
        };
        let actual = sha256_hex(&bytes);
        if actual != hash {
            return Err(StoreError::Invalid(format!(
                "archived upload {hash} is damaged (its checksum is {actual})"
            )));
        }
        Ok(Some(bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::Store;

    /// The same bytes archived from many tasks at once: every call
    /// succeeds and the object holds the bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_upload_archived_at_once_from_many_tasks() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            Store::init(dir.path()).unwrap();
            let store = Arc::new(Store::open(dir.path()).await.unwrap());
            let bytes = format!("member_id;loans\n09001000;{round}\n").into_bytes();
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (store, bytes) = (store.clone(), bytes.clone());
                    tokio::spawn(async move { store.archive_upload(&bytes).await })
                })
                .collect();
            let mut hashes = Vec::new();
            for t in tasks {
                hashes.push(t.await.unwrap().unwrap());
            }
            hashes.dedup();
            assert_eq!(hashes.len(), 1);
            assert_eq!(
                store.archived_upload(&hashes[0]).await.unwrap().as_deref(),
                Some(bytes.as_slice())
            );
            assert!(store.archived_upload("../../x").await.unwrap().is_none());
        }
    }
}
