//! `s3://` and `s3a://` lakes through object_store's own S3 client.
//!
//! deltalake's `s3` feature would bring the AWS SDK (aws-config, three
//! service SDKs, the smithy runtime and aws-lc) only to resolve credentials;
//! it is a third of the cold release build. object_store's `AmazonS3` reads
//! the same `AWS_*` options and environment variables, signs requests itself
//! and finds credentials in the options, the environment, a web identity
//! token, or the ECS and EC2 metadata endpoints. Commits stay put-if-absent:
//! deltalake's default log store writes each log entry with
//! `PutMode::Create`, which `AmazonS3` sends as `If-None-Match: *` (its
//! default `conditional_put = etag`).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Once};

use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError, Path};
use object_store::ObjectStoreScheme;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::SpawnedReqwestConnector;
use url::Url;

/// Registers the S3 object store and log store factories with deltalake,
/// once per process; every table is opened after this.
pub(crate) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let stores = Arc::new(S3ObjectStoreFactory);
        let logs = Arc::new(S3LogStoreFactory);
        for scheme in ["s3", "s3a"] {
            // A literal URL of a fixed scheme always parses.
            let Ok(url) = Url::parse(&format!("{scheme}://")) else {
                continue;
            };
            object_store_factories().insert(url.clone(), stores.clone());
            logstore_factories().insert(url, logs.clone());
        }
    });
}

/// The options an `AmazonS3` is built with: the storage options given for
/// the lake, then the `AWS_*` environment variables for keys not given.
/// Keys are matched case-insensitively; keys that are no S3 option (for
/// instance deltalake's own) are left out.
fn s3_options(raw: &HashMap<String, String>) -> Vec<(AmazonS3ConfigKey, String)> {
    let mut options: HashMap<String, (AmazonS3ConfigKey, String)> = HashMap::new();
    for (key, value) in raw {
        if let Ok(key) = AmazonS3ConfigKey::from_str(&key.to_ascii_lowercase()) {
            options.insert(key.as_ref().to_string(), (key, value.clone()));
        }
    }
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_")
            && let Ok(key) = AmazonS3ConfigKey::from_str(&key.to_ascii_lowercase())
        {
            options
                .entry(key.as_ref().to_string())
                .or_insert((key, value));
        }
    }
    // As deltalake's `s3` feature did: copies that must not overwrite use a
    // multipart upload completed with `If-None-Match: *`.
    if !options.contains_key(AmazonS3ConfigKey::CopyIfNotExists.as_ref()) {
        options.insert(
            AmazonS3ConfigKey::CopyIfNotExists.as_ref().to_string(),
            (AmazonS3ConfigKey::CopyIfNotExists, "multipart".to_string()),
        );
    }
    options.into_values().collect()
}

/// Builds an `AmazonS3` for the bucket of an `s3://` URL.
#[derive(Debug, Clone, Copy, Default)]
struct S3ObjectStoreFactory;

impl ObjectStoreFactory for S3ObjectStoreFactory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let mut builder = AmazonS3Builder::new().with_url(url.to_string());
        for (key, value) in s3_options(&config.raw) {
            builder = builder.with_config(key, value);
        }
        if let Some(runtime) = &config.runtime {
            builder =
                builder.with_http_connector(SpawnedReqwestConnector::new(runtime.get_handle()));
        }
        let (_, path) =
            ObjectStoreScheme::parse(url).map_err(|e| DeltaTableError::GenericError {
                source: Box::new(e),
            })?;
        let prefix = Path::parse(path)?;
        Ok((Arc::new(builder.build()?), prefix))
    }
}

/// deltalake's default log store: each commit a put-if-absent of the next
/// log entry.
#[derive(Debug, Clone, Copy, Default)]
struct S3LogStoreFactory;

impl LogStoreFactory for S3LogStoreFactory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_matched_case_insensitively_and_foreign_keys_dropped() {
        let raw = HashMap::from([
            (
                "AWS_ENDPOINT_URL".to_string(),
                "http://127.0.0.1:9000".to_string(),
            ),
            ("aws_region".to_string(), "us-east-1".to_string()),
            ("AWS_ALLOW_HTTP".to_string(), "true".to_string()),
            ("not_an_s3_option".to_string(), "x".to_string()),
        ]);
        let options: HashMap<String, String> = s3_options(&raw)
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v))
            .collect();
        assert_eq!(options["aws_endpoint"], "http://127.0.0.1:9000");
        assert_eq!(options["aws_region"], "us-east-1");
        assert_eq!(options["aws_copy_if_not_exists"], "multipart");
        assert!(!options.contains_key("not_an_s3_option"));
        assert!(options.keys().any(|k| k.contains("allow_http")));
    }

    #[test]
    fn s3_urls_get_a_store_and_the_put_if_absent_log_store() {
        register();
        let url = Url::parse("s3://bucket/lake/library/").unwrap();
        let config = StorageConfig::parse_options([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_ALLOW_HTTP", "true"),
        ])
        .unwrap();
        let (_, prefix) = S3ObjectStoreFactory.parse_url_opts(&url, &config).unwrap();
        assert_eq!(prefix.as_ref(), "lake/library");
        assert!(
            object_store_factories()
                .get(&Url::parse("s3a://").unwrap())
                .is_some()
        );
        let store: ObjectStoreRef = Arc::new(object_store::memory::InMemory::new());
        let log = S3LogStoreFactory
            .with_options(store.clone(), store, &url, &config)
            .unwrap();
        assert_eq!(log.name(), "DefaultLogStore");
    }
}
