//! Bounded caches of plaintext data keys, so a warm function does not call KMS for every
//! secret. Both are bounded by age and by uses; the decrypt cache also by entries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::PlainKey;

#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// A cached key is dropped once this old.
    pub max_age: Duration,
    /// A cached key is dropped after sealing or opening this many secrets.
    pub max_uses: u32,
    /// The decrypt cache holds at most this many keys.
    pub max_entries: usize,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            max_uses: 1_000,
            max_entries: 1_024,
        }
    }
}

impl CachePolicy {
    /// No caching: every seal and open calls the key service.
    pub fn disabled() -> Self {
        Self {
            max_age: Duration::ZERO,
            max_uses: 0,
            max_entries: 0,
        }
    }
}

pub(super) struct Entry<V> {
    pub value: V,
    created: Instant,
    uses: u32,
}

pub(super) struct BoundedCache<K, V> {
    policy: CachePolicy,
    entries: HashMap<K, Entry<V>>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> BoundedCache<K, V> {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            entries: HashMap::new(),
        }
    }

    /// The cached value if still within its bounds, counting this use.
    pub fn take_use(&mut self, key: &K) -> Option<V> {
        let fresh = match self.entries.get_mut(key) {
            Some(e)
                if e.created.elapsed() < self.policy.max_age && e.uses < self.policy.max_uses =>
            {
                e.uses += 1;
                Some(e.value.clone())
            }
            Some(_) => None,
            None => return None,
        };
        if fresh.is_none() {
            self.entries.remove(key);
        }
        fresh
    }

    /// Stores a value whose first use has just happened.
    pub fn insert(&mut self, key: K, value: V) {
        if self.policy.max_uses == 0
            || self.policy.max_entries == 0
            || self.policy.max_age.is_zero()
        {
            return;
        }
        let max_age = self.policy.max_age;
        self.entries.retain(|_, e| e.created.elapsed() < max_age);
        while self.entries.len() >= self.policy.max_entries {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.entries.remove(&k),
                None => break,
            };
        }
        self.entries.insert(
            key,
            Entry {
                value,
                created: Instant::now(),
                uses: 1,
            },
        );
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Keys cached for sealing: the plaintext key with the encrypted form stored beside each
/// ciphertext.
#[derive(Clone)]
pub(super) struct SealingKey {
    pub plaintext: PlainKey,
    pub encrypted: std::sync::Arc<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_uses_age_and_entries() {
        let policy = CachePolicy {
            max_age: Duration::from_millis(200),
            max_uses: 3,
            max_entries: 2,
        };
        let mut cache = BoundedCache::new(policy);
        cache.insert("a", 1);
        assert_eq!(cache.take_use(&"a"), Some(1));
        assert_eq!(cache.take_use(&"a"), Some(1));
        assert_eq!(
            cache.take_use(&"a"),
            None,
            "fourth use exceeds max_uses = 3"
        );

        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("c", 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.take_use(&"a"), None, "oldest entry evicted");

        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.take_use(&"c"), None, "expired by age");
    }

    #[test]
    fn disabled_policy_caches_nothing() {
        let mut cache = BoundedCache::new(CachePolicy::disabled());
        cache.insert("a", 1);
        assert_eq!(cache.take_use(&"a"), None);
    }
}
