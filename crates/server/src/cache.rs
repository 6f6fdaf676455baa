//! Conditional requests and materialised responses. A statistics response
//! is a function of the data version of its domain(s), the member list,
//! the request (path, parameters, answer format) and who asks (role and
//! member); its `ETag` is a hash of exactly these. A client that sends the
//! `ETag` back in `If-None-Match` gets `304 Not Modified`; other clients
//! asking the same get the stored bytes. Disclosure control is part of the
//! response, and the requester is part of the key, so a stored response is
//! only ever served to a requester it was computed for.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// At most this many bytes of responses are kept; when a new one would
/// exceed it, the store starts over. (Responses of an old data version are
/// never asked for again, so a simple reset loses little.) A single answer
/// larger than an eighth of it is not kept at all.
const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Entries {
    map: HashMap<String, (&'static str, Bytes)>,
    bytes: usize,
}

/// Responses by `ETag`, within a memory budget.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<Entries>,
    /// Requests for the same missing response compute it once: 64
    /// connections asking for the same cold national report computed 64
    /// reports at once (each holding its years) and timed out.
    computing: vergleichsring_engine::Gates<String>,
}

impl ResponseCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A stored response: content type and body.
    pub fn get(&self, etag: &str) -> Option<(&'static str, Bytes)> {
        self.lock().map.get(etag).cloned()
    }

    /// Stores a response.
    pub fn put(&self, etag: &str, content_type: &'static str, body: Bytes) {
        let size = body.len() + etag.len();
        if size > MAX_BYTES / 8 {
            return;
        }
        let mut e = self.lock();
        if e.bytes + size > MAX_BYTES {
            e.map.clear();
            e.bytes = 0;
        }
        if let Some((_, old)) = e.map.insert(etag.to_string(), (content_type, body)) {
            e.bytes -= old.len() + etag.len();
        }
        e.bytes += size;
    }

    /// The number of stored responses.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// The bytes of stored responses.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A weak `ETag` from the data version(s) and the parts that make a
/// response what it is.
pub fn etag(data_version: &str, parts: &[&str]) -> String {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    format!("W/\"{data_version}-{:016x}\"", h.finish())
}

/// Whether `If-None-Match` names this `ETag` (or `*`).
pub fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == etag.strip_prefix("W/"))
}

/// `304 Not Modified` with the `ETag`.
pub fn not_modified(etag: &str) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

/// `200` with body, content type and `ETag`.
pub fn with_etag(etag: &str, content_type: &'static str, body: Bytes) -> Response {
    let mut r = ([(CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

/// Answers a statistics request: `304` when `If-None-Match` names `tag`,
/// the stored bytes when another request computed them, else `compute`
/// (whose answer is stored). Without a tag the answer is computed and not
/// stored.
pub async fn conditional<F, Fut, E>(
    responses: &ResponseCache,
    headers: &HeaderMap,
    tag: Option<String>,
    compute: F,
) -> Result<Response, E>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(&'static str, Bytes), E>>,
{
    let Some(tag) = tag else {
        let (content_type, body) = compute().await?;
        return Ok(([(CONTENT_TYPE, content_type)], body).into_response());
    };
    if matches(headers, &tag) {
        metrics::counter!("vergleichsring_response_cache_total", "result" => "not_modified")
            .increment(1);
        return Ok(not_modified(&tag));
    }
    if let Some((content_type, body)) = responses.get(&tag) {
        metrics::counter!("vergleichsring_response_cache_total", "result" => "hit").increment(1);
        return Ok(with_etag(&tag, content_type, body));
    }
    let _passage = responses.computing.enter(&tag).await;
    if let Some((content_type, body)) = responses.get(&tag) {
        metrics::counter!("vergleichsring_response_cache_total", "result" => "hit").increment(1);
        return Ok(with_etag(&tag, content_type, body));
    }
    metrics::counter!("vergleichsring_response_cache_total", "result" => "miss").increment(1);
    let (content_type, body) = compute().await?;
    responses.put(&tag, content_type, body.clone());
    Ok(with_etag(&tag, content_type, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_by_every_part_and_match_back() {
        let a = etag("7", &["comparison", "library", "member", "05315000"]);
        assert_eq!(
            a,
            etag("7", &["comparison", "library", "member", "05315000"])
        );
        assert_ne!(
            a,
            etag("8", &["comparison", "library", "member", "05315000"])
        );
        assert_ne!(
            a,
            etag("7", &["comparison", "library", "member", "05315001"])
        );
        assert_ne!(
            a,
            etag("7", &["comparison", "librarymember", "", "05315000"])
        );
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &a));
        h.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {a}")).unwrap(),
        );
        assert!(matches(&h, &a));
        let cache = ResponseCache::default();
        cache.put(&a, "application/json", Bytes::from_static(b"{}"));
        assert_eq!(cache.get(&a).unwrap().1, Bytes::from_static(b"{}"));
        assert!(cache.get("other").is_none());
        cache.put(&a, "application/json", Bytes::from_static(b"{}"));
        assert_eq!(cache.bytes(), 2 + a.len());
        // The budget holds: filling it starts over instead of growing.
        let big = Bytes::from(vec![b'x'; MAX_BYTES / 10]);
        for i in 0..30 {
            cache.put(&format!("t{i}"), "text/plain", big.clone());
            assert!(cache.bytes() <= MAX_BYTES);
        }
        cache.put("huge", "text/plain", Bytes::from(vec![b'x'; MAX_BYTES / 4]));
        assert!(cache.get("huge").is_none());
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_missing_answer_compute_it_once() {
        let cache = std::sync::Arc::new(ResponseCache::default());
        let computed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, computed) = (cache.clone(), computed.clone());
            tasks.push(tokio::spawn(async move {
                let r = conditional(
                    &cache,
                    &HeaderMap::new(),
                    Some("W/\"1-a\"".into()),
                    || async {
                        computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                        Ok::<_, ()>(("text/plain", Bytes::from_static(b"answer")))
                    },
                )
                .await
                .unwrap();
                r.status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::OK);
        }
        assert_eq!(computed.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(cache.computing.is_empty());
    }
}
