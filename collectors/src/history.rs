//! A fixed-capacity ring buffer: histories never grow with uptime.

use std::collections::VecDeque;

/// The most recent `capacity` values, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ring<T> {
    values: VecDeque<T>,
    capacity: usize,
}

impl<T> Ring<T> {
    /// An empty ring holding at most `capacity` values (at least one). Storage grows
    /// as values arrive, so thousands of short-lived rings cost little.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self { values: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Append `value`, dropping the oldest one when full.
    pub fn push(&mut self, value: T) {
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// Values, oldest first.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.values.iter()
    }

    /// The newest value.
    #[must_use]
    pub fn last(&self) -> Option<&T> {
        self.values.back()
    }

    /// The newest value, mutably.
    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.values.back_mut()
    }

    /// Number of values held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The maximum number of values held.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// The value `n` places back from the newest (0 is the newest).
    #[must_use]
    pub fn from_newest(&self, n: usize) -> Option<&T> {
        self.values.len().checked_sub(n + 1).and_then(|i| self.values.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn drops_oldest_when_full() {
        let mut ring = Ring::new(3);
        for v in 0..5 {
            ring.push(v);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(ring.from_newest(0), Some(&4));
        assert_eq!(ring.from_newest(2), Some(&2));
        assert_eq!(ring.from_newest(3), None);
    }

    #[test]
    fn zero_capacity_holds_one() {
        let mut ring = Ring::new(0);
        ring.push(1);
        ring.push(2);
        assert_eq!(ring.len(), 1);
        assert_eq!(ring.last(), Some(&2));
    }
}
