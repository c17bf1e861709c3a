//! Orders known to be finished (completed, cancelled or failed), so a redelivered order is not
//! brewed again. Bounded: the oldest entries go first. Redelivery only concerns orders finished
//! after the last commit, a small and recent set, so a generous bound loses nothing in practice.

use std::collections::{HashSet, VecDeque};

use uuid::Uuid;

#[derive(Debug)]
pub struct FinishedOrders {
    ids: HashSet<Uuid>,
    by_age: VecDeque<Uuid>,
    capacity: usize,
}

impl FinishedOrders {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: HashSet::new(),
            by_age: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `id`, forgetting the oldest entry when full.
    pub fn insert(&mut self, id: Uuid) {
        if !self.ids.insert(id) {
            return;
        }
        self.by_age.push_back(id);
        if self.by_age.len() > self.capacity
            && let Some(oldest) = self.by_age.pop_front()
        {
            self.ids.remove(&oldest);
        }
    }

    /// How many orders it remembers at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.ids.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_was_inserted() {
        let mut finished = FinishedOrders::new(10);
        finished.insert(Uuid::from_u128(1));
        assert!(finished.contains(&Uuid::from_u128(1)));
        assert!(!finished.contains(&Uuid::from_u128(2)));
    }

    #[test]
    fn forgets_the_oldest_when_full() {
        let mut finished = FinishedOrders::new(2);
        for id in 1..=3 {
            finished.insert(Uuid::from_u128(id));
        }
        assert!(!finished.contains(&Uuid::from_u128(1)));
        assert!(finished.contains(&Uuid::from_u128(2)));
        assert!(finished.contains(&Uuid::from_u128(3)));
    }

    #[test]
    fn inserting_twice_keeps_one_entry() {
        let mut finished = FinishedOrders::new(2);
        finished.insert(Uuid::from_u128(1));
        finished.insert(Uuid::from_u128(1));
        finished.insert(Uuid::from_u128(2));
        finished.insert(Uuid::from_u128(3));
        assert!(!finished.contains(&Uuid::from_u128(1)));
        assert!(finished.contains(&Uuid::from_u128(2)));
    }
}
