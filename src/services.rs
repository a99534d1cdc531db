//! Browser services as small traits, so the core can be driven and tested without a browser.
//!
//! The web edge implements them with `Date.now()`, `chrome.storage` and IndexedDB; tests use
//! the in-memory versions here.

use std::cell::Cell;
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch, as a wall clock reports them.
pub type Millis = u64;

/// A source of the current time.
pub trait Clock {
    /// The current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> Millis;
}

/// A clock that only moves when told to: for deterministic tests of timeouts and backoff.
#[derive(Debug, Default)]
pub struct FakeClock {
    now: Cell<Millis>,
}

impl FakeClock {
    /// A fake clock that starts at `start_ms`.
    pub fn new(start_ms: Millis) -> Self {
        Self { now: Cell::new(start_ms) }
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: Millis) {
        self.now.set(self.now.get() + ms);
    }

    /// Sets the clock to an absolute time.
    pub fn set(&self, ms: Millis) {
        self.now.set(ms);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> Millis {
        self.now.get()
    }
}

/// The wall clock of the operating system (native builds only).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The browser refused the write because the origin's quota is used up.
    QuotaExceeded,
    /// Any other failure, with the browser's message.
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::QuotaExceeded => f.write_str("storage quota exceeded"),
            StoreError::Other(m) => write!(f, "storage failed: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A string key-value store (settings, provider health): `chrome.storage` in the browser.
pub trait KeyValueStore {
    /// Reads the value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes `value` under `key`.
    fn set(&mut self, key: &str, value: String) -> Result<(), StoreError>;
    /// Removes `key`; removing a missing key is not an error.
    fn remove(&mut self, key: &str) -> Result<(), StoreError>;
}

/// An in-memory [`KeyValueStore`] with an optional byte quota, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: BTreeMap<String, String>,
    quota_bytes: Option<usize>,
}

impl MemoryStore {
    /// An empty store without a quota.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that refuses writes past `bytes` of keys and values.
    pub fn with_quota(bytes: usize) -> Self {
        Self { items: BTreeMap::new(), quota_bytes: Some(bytes) }
    }

    fn used_without(&self, key: &str) -> usize {
        self.items.iter().filter(|(k, _)| k.as_str() != key).map(|(k, v)| k.len() + v.len()).sum()
    }
}

impl KeyValueStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.items.get(key).cloned())
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), StoreError> {
        if let Some(quota) = self.quota_bytes
            && self.used_without(key) + key.len() + value.len() > quota
        {
            return Err(StoreError::QuotaExceeded);
        }
        self.items.insert(key.to_owned(), value);
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        self.items.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_told() {
        let clock = FakeClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(250);
        assert_eq!(clock.now_ms(), 1_250);
    }

    #[test]
    fn memory_store_enforces_its_quota() {
        let mut store = MemoryStore::with_quota(10);
        store.set("a", "12345".into()).unwrap();
        assert_eq!(store.set("b", "123456789".into()), Err(StoreError::QuotaExceeded));
        // Overwriting a key counts only the new value.
        store.set("a", "123456789".into()).unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some("123456789"));
        store.remove("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
    }
}
