//! Interning of path attributes: real tables hold few distinct attribute
//! sets (a full table of about a million prefixes has a few hundred
//! thousand at most, typically far fewer), so every route points to one
//! shared `Arc<PathAttributes>` and equal attributes compare by pointer.

use std::collections::HashSet;
use std::sync::Arc;

use crate::route::PathAttributes;

/// The set of live attribute sets. Unused ones are swept when the set has
/// doubled since the last sweep, so the cost stays amortised O(1).
#[derive(Debug, Default)]
pub(super) struct Interner {
    set: HashSet<Arc<PathAttributes>>,
    next_sweep: usize,
}

const MIN_SWEEP: usize = 1024;

impl Interner {
    /// The shared copy of `attrs`.
    pub fn intern(&mut self, attrs: &PathAttributes) -> Arc<PathAttributes> {
        if let Some(a) = self.set.get(attrs) {
            return a.clone();
        }
        self.insert_new(Arc::new(attrs.clone()))
    }

    /// The shared copy of `attrs`, taking it by value.
    pub fn intern_owned(&mut self, attrs: PathAttributes) -> Arc<PathAttributes> {
        if let Some(a) = self.set.get(&attrs) {
            return a.clone();
        }
        self.insert_new(Arc::new(attrs))
    }

    fn insert_new(&mut self, a: Arc<PathAttributes>) -> Arc<PathAttributes> {
        if self.set.len() >= self.next_sweep.max(MIN_SWEEP) {
            self.sweep();
        }
        self.set.insert(a.clone());
        a
    }

    /// Drops attribute sets nothing else refers to.
    pub fn sweep(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.next_sweep = 2 * self.set.len();
    }

    /// Number of attribute sets held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.set.len()
    }
}
