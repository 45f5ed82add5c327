//! The in-memory page cache shared by every worker of a node: rendered responses keyed by
//! path and query, each stamped with the content version it was built from. A publish bumps
//! the version, so every older entry stops matching at once; bounded by bytes, least recently
//! used entries go first. Compressed bodies are made once per entry, not per request.

use std::sync::Arc;
use std::time::Instant;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// A rendered response, ready to send many times.
#[derive(Debug)]
pub struct CachedPage {
    /// The content version it was built from.
    pub version: i64,
    /// When it stops being valid even at the same version (pages with random picks).
    pub expires: Option<Instant>,
    pub status: u16,
    pub content_type: &'static str,
    /// Extra headers, e.g. `Location` for a redirect.
    pub headers: Vec<(&'static str, String)>,
    pub body: bytes::Bytes,
    /// The gzip of `body`, made on first demand; `None` inside when not worth compressing.
    pub gzip: std::sync::OnceLock<Option<bytes::Bytes>>,
    /// The validator for this entry (weak: the same for both encodings).
    pub etag: String,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<String, Arc<CachedPage>> for ByBytes {
    fn weight(&self, key: &String, val: &Arc<CachedPage>) -> u64 {
        // The gzip is added later and must not change the weight: count a third of the body for it.
        (key.len() + val.body.len() + val.body.len() / 3 + 256) as u64
    }
}

/// The cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct PageCache {
    inner: Arc<Cache<String, Arc<CachedPage>, ByBytes>>,
    /// Lookups that found a fresh page, and those that did not (for `/metrics`).
    counts: Arc<[std::sync::atomic::AtomicU64; 2]>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("entries", &self.inner.len())
            .finish()
    }
}

impl PageCache {
    /// A cache holding at most `max_bytes` of pages.
    pub fn new(max_bytes: u64) -> Self {
        let estimated_items = (max_bytes / 16_384).clamp(64, 1 << 20) as usize;
        PageCache {
            inner: Arc::new(Cache::with_weighter(estimated_items, max_bytes, ByBytes)),
            counts: Arc::default(),
        }
    }

    /// The entry for `key` if it was built at `version` and has not expired.
    pub fn get(&self, key: &str, version: i64) -> Option<Arc<CachedPage>> {
        let page = self
            .inner
            .get(key)
            .filter(|p| p.version == version && p.expires.is_none_or(|t| t > Instant::now()));
        self.counts[usize::from(page.is_none())].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        page
    }

    /// How many lookups found a fresh page, and how many did not.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        let n = |i: usize| self.counts[i].load(std::sync::atomic::Ordering::Relaxed);
        (n(0), n(1))
    }

    /// Stores an entry, replacing any older one.
    pub fn insert(&self, key: String, page: Arc<CachedPage>) {
        self.inner.insert(key, page);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}
