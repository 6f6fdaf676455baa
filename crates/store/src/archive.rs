//! The exact bytes of every accepted upload, content-addressed by SHA-256
//! under `uploads/<first two hex digits>/<hash>`, so that every submission can
//! be re-derived from what the member actually sent. A file is written (and
//! fsynced) before the Delta commit that refers to it; a crash in between
//! leaves an unreferenced file, never a reference to a missing one.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::{Result, Store, StoreError};

impl Store {
    fn upload_path(&self, hash: &str) -> Option<PathBuf> {
        let valid = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| self.root.join("uploads").join(&hash[..2]).join(hash))
    }

    /// Keeps the bytes of an upload and returns their SHA-256 (hex).
    pub fn archive_upload(&self, bytes: &[u8]) -> Result<String> {
        let hash: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = self
            .upload_path(&hash)
            .ok_or_else(|| StoreError::Invalid("bad hash".into()))?;
        if path.exists() {
            return Ok(hash);
        }
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::Invalid("bad upload path".into()))?;
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(&dir.to_path_buf()))?;
        // A temporary name of its own per call: the same file may be
        // uploaded twice at once.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{hash}.{}.{n}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            // Another upload of the same bytes may have won the race.
            if !path.exists() {
                return Err(io(&path)(e));
            }
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(hash)
    }

    /// The bytes of an archived upload, checked against their hash.
    pub fn archived_upload(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.upload_path(hash) else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let actual: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if actual != hash {
                    return Err(StoreError::Invalid(format!(
                        "archived upload {hash} is damaged (its checksum is {actual})"
                    )));
                }
                Ok(Some(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::Store;

    /// The same bytes archived from many threads at once: every call
    /// succeeds and the file holds the bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_upload_archived_at_once_from_many_threads() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            Store::init(dir.path()).unwrap();
            let store = Arc::new(Store::open(dir.path()).await.unwrap());
            let bytes = format!("member_id;loans\n09001000;{round}\n").into_bytes();
            let threads: Vec<_> = (0..16)
                .map(|_| {
                    let (store, bytes) = (store.clone(), bytes.clone());
                    std::thread::spawn(move || store.archive_upload(&bytes))
                })
                .collect();
            let mut hashes = Vec::new();
            for t in threads {
                hashes.push(t.join().unwrap().unwrap());
            }
            hashes.dedup();
            assert_eq!(hashes.len(), 1);
            assert_eq!(
                store.archived_upload(&hashes[0]).unwrap().as_deref(),
                Some(bytes.as_slice())
            );
        }
    }
}
