//! The engine's memory cache: the years of each domain (rows, key figures
//! and the groups materialised from them), the ledgers' entries and the
//! publications' masks, held within one byte budget (`[limits]
//! cache_mib`). What is least recently used goes first when the budget is
//! exceeded; everything in it can be read again from the lake or the
//! ledger, so eviction costs time, never an answer.
//!
//! Values are weighed when they are inserted and again whenever the cache
//! is used, because a year grows as groups are materialised from it.
//! A value larger than the whole budget is handed to its caller but not
//! kept.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Something the cache can hold: it says what it takes in memory.
pub(crate) trait Weigh: Any + Send + Sync {
    /// Bytes it takes on the heap, estimated.
    fn bytes(&self) -> usize;
}

/// What is cached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A year of a domain as of the last commit that touched it.
    Year {
        domain: String,
        year: i32,
        version: u64,
    },
    /// The entries of a (domain, year)'s ledger.
    Ledger { domain: String, year: i32 },
    /// A publication's mask (member list, disclosed and withheld groups).
    Mask(String),
}

struct Slot {
    any: Arc<dyn Any + Send + Sync>,
    weigh: Arc<dyn Weigh>,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Slot>,
    tick: u64,
}

/// How the cache is doing, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// The budget in bytes.
    pub limit: usize,
    /// Bytes the values held now take (as weighed).
    pub bytes: usize,
    /// The most bytes held after any insertion or use since start.
    pub peak: usize,
    /// Values held.
    pub entries: usize,
    /// Values dropped to stay within the budget.
    pub evictions: u64,
    /// Values loaded because they were not held.
    pub misses: u64,
}

/// One gate per key being computed, so that concurrent callers that miss
/// the same value compute it once: the first one through computes, the
/// others wait without holding a thread and then find it stored (a burst
/// of the same cold request must not run the work once per connection).
pub struct Gates<K> {
    map: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for Gates<K> {
    fn default() -> Self {
        Gates {
            map: Mutex::default(),
        }
    }
}

/// Passage through a key's gate; the gate is removed when the last caller
/// for its key is through, also when a caller's request is dropped while
/// it waits or computes.
pub struct Passage<'g, K: Eq + std::hash::Hash + Clone> {
    gates: &'g Gates<K>,
    key: K,
    gate: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<K: Eq + std::hash::Hash + Clone> Gates<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<tokio::sync::Mutex<()>>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no other caller is through the gate of `key`.
    pub async fn enter(&self, key: &K) -> Passage<'_, K> {
        let gate = self.lock().entry(key.clone()).or_default().clone();
        let held = gate.clone().lock_owned().await;
        Passage {
            gates: self,
            key: key.clone(),
            gate,
            held: Some(held),
        }
    }

    /// Keys with a caller waiting or through.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key has a caller.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + std::hash::Hash + Clone> Drop for Passage<'_, K> {
    fn drop(&mut self) {
        self.held = None;
        let mut map = self.gates.lock();
        // The map holds one reference and this passage another; more are
        // callers still waiting, who remove it in their turn.
        if map
            .get(&self.key)
            .is_some_and(|g| Arc::ptr_eq(g, &self.gate) && Arc::strong_count(g) <= 2)
        {
            map.remove(&self.key);
        }
    }
}

/// Values by key within a byte budget, least recently used first out.
pub(crate) struct MemoryCache {
    limit: usize,
    inner: Mutex<Inner>,
    /// Concurrent requests for the same missing value load it once.
    loading: Gates<Key>,
    peak: AtomicU64,
    evictions: AtomicU64,
    misses: AtomicU64,
}

impl MemoryCache {
    /// An empty cache of `limit` bytes.
    pub(crate) fn new(limit: usize) -> MemoryCache {
        MemoryCache {
            limit,
            inner: Mutex::default(),
            loading: Gates::default(),
            peak: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key`, if held.
    pub(crate) fn get<T: Weigh>(&self, key: &Key) -> Option<Arc<T>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let slot = inner.map.get_mut(key)?;
        slot.used = tick;
        let any = slot.any.clone();
        // A value that grew since (groups materialised from a year) may
        // have pushed the cache over its budget.
        self.trim(&mut inner, Some(key));
        any.downcast::<T>().ok()
    }

    /// Keeps `value` under `key` and drops the least recently used values
    /// until the budget holds (the new value too, if it alone exceeds it).
    pub(crate) fn insert<T: Weigh>(&self, key: Key, value: Arc<T>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let weigh: Arc<dyn Weigh> = value.clone();
        let any: Arc<dyn Any + Send + Sync> = value;
        inner.map.insert(
            key.clone(),
            Slot {
                any,
                weigh,
                used: tick,
            },
        );
        // The new value was used last, so it goes only if it alone
        // exceeds the budget.
        self.trim(&mut inner, None);
    }

    /// The value under `key`, loaded by `load` if it is not held; callers
    /// that ask while it loads wait for it instead of loading it again.
    pub(crate) async fn get_or_load<T, E, F, Fut>(&self, key: Key, load: F) -> Result<Arc<T>, E>
    where
        T: Weigh,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let _passage = self.loading.enter(&key).await;
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let v = Arc::new(load().await?);
        self.insert(key, v.clone());
        Ok(v)
    }

    /// Drops the least recently used values (but not `keep`, when given)
    /// until the values held fit the budget; with `keep` `None`, any value.
    fn trim(&self, inner: &mut Inner, keep: Option<&Key>) {
        let mut total: usize = inner.map.values().map(|s| s.weigh.bytes()).sum();
        while total > self.limit {
            let oldest = inner
                .map
                .iter()
                .filter(|(k, _)| Some(*k) != keep)
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone());
            let Some(k) = oldest else {
                break;
            };
            if let Some(s) = inner.map.remove(&k) {
                total = total.saturating_sub(s.weigh.bytes());
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        if total <= self.limit {
            self.peak.fetch_max(total as u64, Ordering::Relaxed);
        }
    }

    /// Brings the cache back within its budget after values grew while in
    /// use (groups materialised by a comparison, on a year and on its
    /// perturbed twin), without waiting for the next read.
    pub(crate) fn settle(&self) {
        let mut inner = self.lock();
        self.trim(&mut inner, None);
    }

    /// How the cache is doing.
    pub(crate) fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            limit: self.limit,
            bytes: inner.map.values().map(|s| s.weigh.bytes()).sum(),
            peak: usize::try_from(self.peak.load(Ordering::Relaxed)).unwrap_or(usize::MAX),
            entries: inner.map.len(),
            evictions: self.evictions.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blob(usize);

    impl Weigh for Blob {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    fn year(y: i32) -> Key {
        Key::Year {
            domain: "library".into(),
            year: y,
            version: 0,
        }
    }

    #[test]
    fn the_least_recently_used_value_goes_first_and_the_budget_holds() {
        let cache = MemoryCache::new(100);
        cache.insert(year(1), Arc::new(Blob(40)));
        cache.insert(year(2), Arc::new(Blob(40)));
        assert!(cache.get::<Blob>(&year(1)).is_some());
        cache.insert(year(3), Arc::new(Blob(40)));
        assert!(
            cache.get::<Blob>(&year(2)).is_none(),
            "2 was used least recently"
        );
        assert!(cache.get::<Blob>(&year(1)).is_some());
        assert!(cache.get::<Blob>(&year(3)).is_some());
        let s = cache.stats();
        assert_eq!((s.bytes, s.entries, s.evictions), (80, 2, 1));
        assert!(s.peak <= 100);
    }

    #[test]
    fn a_value_larger_than_the_budget_is_not_kept() {
        let cache = MemoryCache::new(100);
        cache.insert(year(1), Arc::new(Blob(40)));
        cache.insert(year(2), Arc::new(Blob(400)));
        assert!(cache.get::<Blob>(&year(2)).is_none());
        assert_eq!(cache.stats().bytes, 0);
    }

    #[test]
    fn a_value_of_another_type_is_not_returned() {
        let cache = MemoryCache::new(100);
        cache.insert(year(1), Arc::new(Blob(1)));
        assert!(cache.get::<String>(&year(1)).is_none());
    }

    impl Weigh for String {
        fn bytes(&self) -> usize {
            self.len()
        }
    }

    #[tokio::test]
    async fn concurrent_loads_of_one_key_load_once() {
        let cache = Arc::new(MemoryCache::new(1000));
        let loads = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, loads) = (cache.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_load(year(7), || async {
                        loads.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, ()>(Blob(10))
                    })
                    .await
                    .map(|b| b.0)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(10));
        }
        assert_eq!(loads.load(Ordering::Relaxed), 1);
        assert!(cache.loading.is_empty());
    }

    #[tokio::test]
    async fn a_caller_dropped_while_it_computes_lets_the_next_one_through() {
        let gates: Arc<Gates<u32>> = Arc::new(Gates::default());
        let first = {
            let gates = gates.clone();
            tokio::spawn(async move {
                let _p = gates.enter(&1).await;
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let second = {
            let gates = gates.clone();
            tokio::spawn(async move {
                let _p = gates.enter(&1).await;
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!second.is_finished());
        // The first request goes away (its client closed the connection).
        first.abort();
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap();
        assert!(gates.is_empty());
        // Another key never waits for this one.
        let _a = gates.enter(&1).await;
        let _b = gates.enter(&2).await;
        assert_eq!(gates.len(), 2);
    }
}
