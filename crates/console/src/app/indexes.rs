//! A keyed collection with one display order kept sorted incrementally.
//!
//! Items live in a slab (stable slots, reused after removal) with an id → slot map;
//! `order` holds the slots sorted by the pane's comparator. Applying one change removes
//! the item's slot from `order` by binary search under its old value and inserts it
//! under the new one: O(log n) comparisons plus a shift within one block of at most 512
//! plain integers ([`Blocks`]), never a re-sort of the world nor a shift of the whole
//! list. Drawing reads only the visible window of `order`.
//!
//! A filter keeps a second list, `shown`: the slots that pass it, in the same order.
//! A change to one item re-tests that item only and moves it in `shown` the same way,
//! so a filter and a sort together still cost O(log n) per event. A filter also ranks
//! what it keeps (how well a fuzzy word matched): `shown` is ordered by rank first, the
//! display order within a rank. Positions (`at`, `position`, `len`, `iter_from`) are
//! positions among the shown items.

use std::cmp::Ordering;
use std::collections::HashMap;

/// Something with a stable id.
pub trait Keyed {
    fn key(&self) -> &str;
}

/// Compares two items under a sort specification; must be a total order (end on the id).
pub type Compare<T, S> = fn(&S, &T, &T) -> Ordering;

/// Whether an item passes the active filter.
pub type Predicate<T> = Box<dyn Fn(&T) -> bool + Send>;

/// Whether an item passes the active filter, and its rank if it does: lower ranks are
/// shown first; equal ranks keep the display order.
pub type Ranker<T> = Box<dyn Fn(&T) -> Option<u32> + Send>;

pub struct Collection<T, S = ()> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    by_id: HashMap<String, usize>,
    order: Blocks,
    cmp: Compare<T, S>,
    spec: S,
    filter: Option<Ranker<T>>,
    /// With a filter: the slots that pass it, by rank, then in display order.
    shown: Blocks,
    /// With a filter: each shown slot's rank, by slot.
    ranks: Vec<u32>,
}

/// Where a slot was found in a [`Blocks`] list: its display position and its block.
#[derive(Debug, Clone, Copy)]
struct Found {
    pos: usize,
    block: usize,
    offset: usize,
}

impl<T: Keyed, S> Collection<T, S> {
    pub fn new(cmp: Compare<T, S>, spec: S) -> Self {
        Collection {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            order: Blocks::default(),
            cmp,
            spec,
            filter: None,
            shown: Blocks::default(),
            ranks: Vec::new(),
        }
    }

    /// Items shown: those passing the filter, or all.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.view().len() == 0
    }

    /// Every item, filtered or not.
    pub fn total(&self) -> usize {
        self.order.len()
    }

    pub fn filtered(&self) -> bool {
        self.filter.is_some()
    }

    fn view(&self) -> &Blocks {
        if self.filter.is_some() {
            &self.shown
        } else {
            &self.order
        }
    }

    /// Sets or clears the filter; the one O(n log n) step, on the user's keystroke.
    pub fn set_filter(&mut self, filter: Option<Ranker<T>>) {
        self.filter = filter;
        self.refilter();
    }

    fn refilter(&mut self) {
        self.shown = Blocks::default();
        if let Some(f) = &self.filter {
            let slots = &self.slots;
            self.ranks.resize(slots.len(), 0);
            let mut shown = Vec::new();
            for s in self.order.iter_from(0) {
                if let Some(rank) = f(item(slots, s)) {
                    self.ranks[s] = rank;
                    shown.push(s);
                }
            }
            // Stable: within a rank, the display order stays.
            shown.sort_by_key(|&s| self.ranks[s]);
            self.shown = Blocks::from_sorted(shown);
        }
    }

    /// Finds `slot` in `shown` under its current value and its stored rank.
    fn locate_shown(&self, slot: usize) -> Result<Found, Found> {
        let (slots, cmp, spec, ranks) = (&self.slots, self.cmp, &self.spec, &self.ranks);
        let target = item(slots, slot);
        self.shown.search(|probe| {
            ranks[probe]
                .cmp(&ranks[slot])
                .then_with(|| cmp(spec, item(slots, probe), target))
        })
    }

    /// Before `slot` changes: takes it out of `shown` under its old value.
    fn unshow(&mut self, slot: usize) {
        if self.filter.is_none() || slot >= self.ranks.len() {
            return;
        }
        if let Ok(at) = self.locate_shown(slot) {
            self.shown.remove(at);
        }
    }

    /// After `slot` changed or arrived: puts it back if it passes the filter.
    fn reshow(&mut self, slot: usize) {
        let Some(f) = &self.filter else {
            return;
        };
        if let Some(rank) = f(item(&self.slots, slot)) {
            if self.ranks.len() <= slot {
                self.ranks.resize(slot + 1, 0);
            }
            self.ranks[slot] = rank;
            let at = self.locate_shown(slot).unwrap_or_else(|at| at);
            self.shown.insert(at, slot);
        }
    }

    pub fn spec(&self) -> &S {
        &self.spec
    }

    /// Replaces everything and sorts once (a snapshot).
    pub fn replace_all(&mut self, items: impl IntoIterator<Item = T>) {
        self.slots.clear();
        self.free.clear();
        self.by_id.clear();
        for item in items {
            match self.by_id.get(item.key()) {
                // A duplicate id in one snapshot: the later one wins.
                Some(&slot) => self.slots[slot] = Some(item),
                None => {
                    self.by_id.insert(item.key().to_string(), self.slots.len());
                    self.slots.push(Some(item));
                }
            }
        }
        self.resort();
    }

    /// Changes the sort specification and sorts once (a user's choice, not an event).
    pub fn set_spec(&mut self, spec: S) {
        self.spec = spec;
        self.resort();
    }

    fn resort(&mut self) {
        let (slots, cmp, spec) = (&self.slots, self.cmp, &self.spec);
        let mut order: Vec<usize> = (0..slots.len()).filter(|&s| slots[s].is_some()).collect();
        order.sort_by(|&a, &b| cmp(spec, item(slots, a), item(slots, b)));
        self.order = Blocks::from_sorted(order);
        self.refilter();
    }

    /// Finds `slot` in `order` by binary search under its current value: `Ok` where it
    /// is, `Err` where it would go.
    fn locate(&self, slot: usize) -> Result<Found, Found> {
        let (slots, cmp, spec) = (&self.slots, self.cmp, &self.spec);
        let target = item(slots, slot);
        self.order
            .search(|probe| cmp(spec, item(slots, probe), target))
    }

    fn unlink(&mut self, slot: usize) {
        match self.locate(slot) {
            Ok(at) => self.order.remove(at),
            // Unreachable while the comparator is total; recover rather than corrupt.
            Err(_) => self.order.retain(|s| s != slot),
        }
    }

    /// After `slot`'s value changed: it was at `at` under its old value. Most changes
    /// (health, a target's state) leave the order alone, and then nothing moves.
    fn reposition(&mut self, slot: usize, at: Option<Found>) {
        let Some(at) = at else {
            // Unreachable while the comparator is total; recover rather than corrupt.
            self.order.retain(|s| s != slot);
            self.link(slot);
            return;
        };
        let (slots, cmp, spec) = (&self.slots, self.cmp, &self.spec);
        let this = item(slots, slot);
        let before = |p: usize| cmp(spec, item(slots, p), this) == Ordering::Less;
        let after = |n: usize| cmp(spec, this, item(slots, n)) == Ordering::Less;
        let after_prev = at.pos == 0 || self.order.get(at.pos - 1).is_none_or(before);
        let before_next = self.order.get(at.pos + 1).is_none_or(after);
        if after_prev && before_next {
            return;
        }
        self.order.remove(at);
        self.link(slot);
    }

    fn link(&mut self, slot: usize) {
        let at = self.locate(slot).unwrap_or_else(|at| at);
        self.order.insert(at, slot);
    }

    /// Inserts or replaces by id; returns the previous value.
    pub fn upsert(&mut self, value: T) -> Option<T> {
        if let Some(&slot) = self.by_id.get(value.key()) {
            let at = self.locate(slot).ok();
            self.unshow(slot);
            let old = self.slots[slot].replace(value);
            self.reposition(slot, at);
            self.reshow(slot);
            return old;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(value);
                slot
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        };
        self.by_id
            .insert(item(&self.slots, slot).key().to_string(), slot);
        self.link(slot);
        self.reshow(slot);
        None
    }

    /// Changes an item in place and moves it to its new position.
    pub fn modify<R>(&mut self, id: &str, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let slot = *self.by_id.get(id)?;
        let at = self.locate(slot).ok();
        self.unshow(slot);
        let out = self.slots[slot].as_mut().map(f);
        self.reposition(slot, at);
        self.reshow(slot);
        out
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let slot = *self.by_id.get(id)?;
        self.unshow(slot);
        self.unlink(slot);
        self.by_id.remove(id);
        self.free.push(slot);
        self.slots[slot].take()
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.by_id.get(id).and_then(|&s| self.slots[s].as_ref())
    }

    /// The item at display position `pos`.
    pub fn at(&self, pos: usize) -> Option<&T> {
        self.view().get(pos).and_then(|s| self.slots[s].as_ref())
    }

    /// Display position of `id` among the shown items, by binary search.
    pub fn position(&self, id: &str) -> Option<usize> {
        let slot = *self.by_id.get(id)?;
        let found = if self.filter.is_some() {
            self.locate_shown(slot)
        } else {
            self.locate(slot)
        };
        found.ok().map(|at| at.pos)
    }

    /// Items in display order from `start`, for drawing a window.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        self.view()
            .iter_from(start)
            .filter_map(|s| self.slots[s].as_ref())
    }

    /// Every item, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

/// Largest block of a [`Blocks`] list; a full block splits in two.
const BLOCK: usize = 512;

/// A sorted list of slots kept in blocks of at most [`BLOCK`], so inserting or removing
/// one shifts at most one block rather than the whole list (at 100k rows a plain `Vec`
/// moved hundreds of kilobytes per change). Finding a position walks the block lengths:
/// a few hundred additions at 100k.
#[derive(Debug, Default)]
struct Blocks {
    blocks: Vec<Vec<usize>>,
    len: usize,
}

impl Blocks {
    fn from_sorted(slots: Vec<usize>) -> Blocks {
        Blocks {
            len: slots.len(),
            blocks: slots.chunks(BLOCK / 2).map(<[usize]>::to_vec).collect(),
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, mut pos: usize) -> Option<usize> {
        for b in &self.blocks {
            if pos < b.len() {
                return Some(b[pos]);
            }
            pos -= b.len();
        }
        None
    }

    /// Binary search as `slice::binary_search_by`: `f` orders a probe against the target.
    fn search(&self, mut f: impl FnMut(usize) -> Ordering) -> Result<Found, Found> {
        // Blocks are never empty: the first whose last element is not below the target
        // holds it, or is where it goes.
        let block = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|&s| f(s) == Ordering::Less));
        let before: usize = self.blocks[..block].iter().map(Vec::len).sum();
        let Some(b) = self.blocks.get(block) else {
            let (block, offset) = match self.blocks.last() {
                Some(last) => (self.blocks.len() - 1, last.len()),
                None => (0, 0),
            };
            return Err(Found {
                pos: self.len,
                block,
                offset,
            });
        };
        match b.binary_search_by(|&s| f(s)) {
            Ok(offset) => Ok(Found {
                pos: before + offset,
                block,
                offset,
            }),
            Err(offset) => Err(Found {
                pos: before + offset,
                block,
                offset,
            }),
        }
    }

    fn remove(&mut self, at: Found) {
        let b = &mut self.blocks[at.block];
        b.remove(at.offset);
        if b.is_empty() {
            self.blocks.remove(at.block);
        }
        self.len -= 1;
    }

    fn insert(&mut self, at: Found, slot: usize) {
        self.len += 1;
        let Some(b) = self.blocks.get_mut(at.block) else {
            self.blocks.push(vec![slot]);
            return;
        };
        b.insert(at.offset, slot);
        if b.len() > BLOCK {
            let tail = b.split_off(BLOCK / 2);
            self.blocks.insert(at.block + 1, tail);
        }
    }

    fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let all = self.iter_from(0).filter(|&s| keep(s)).collect();
        *self = Blocks::from_sorted(all);
    }

    fn iter_from(&self, mut start: usize) -> impl Iterator<Item = usize> + '_ {
        let mut first = self.blocks.len();
        for (i, b) in self.blocks.iter().enumerate() {
            if start < b.len() {
                first = i;
                break;
            }
            start -= b.len();
        }
        self.blocks[first..].iter().flatten().skip(start).copied()
    }
}

fn item<T>(slots: &[Option<T>], slot: usize) -> &T {
    slots[slot]
        .as_ref()
        .expect("order and by_id only hold occupied slots")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Row(String, i32);

    impl Keyed for Row {
        fn key(&self) -> &str {
            &self.0
        }
    }

    fn by_value(desc: &bool, a: &Row, b: &Row) -> Ordering {
        let o = a.1.cmp(&b.1);
        (if *desc { o.reverse() } else { o }).then_with(|| a.0.cmp(&b.0))
    }

    fn ids<S>(c: &Collection<Row, S>) -> Vec<String> {
        c.iter_from(0).map(|r| r.0.clone()).collect()
    }

    #[test]
    fn stays_sorted_through_upserts_moves_and_removals() {
        let mut c = Collection::new(by_value, false);
        c.replace_all([Row("a".into(), 3), Row("b".into(), 1), Row("c".into(), 2)]);
        assert_eq!(ids(&c), ["b", "c", "a"]);
        assert_eq!(c.upsert(Row("b".into(), 9)), Some(Row("b".into(), 1)));
        assert_eq!(ids(&c), ["c", "a", "b"]);
        c.upsert(Row("d".into(), 0));
        assert_eq!(ids(&c), ["d", "c", "a", "b"]);
        assert_eq!(c.remove("c"), Some(Row("c".into(), 2)));
        c.upsert(Row("e".into(), 3));
        assert_eq!(ids(&c), ["d", "a", "e", "b"]);
        c.modify("d", |r| r.1 = 5);
        assert_eq!(ids(&c), ["a", "e", "d", "b"]);
        assert_eq!(c.position("d"), Some(2));
        c.set_spec(true);
        assert_eq!(ids(&c), ["b", "d", "a", "e"]);
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn a_filter_follows_changes_one_item_at_a_time() {
        let mut c = Collection::new(by_value, false);
        c.replace_all([Row("a".into(), 3), Row("b".into(), 1), Row("c".into(), 2)]);
        c.set_filter(Some(Box::new(|r: &Row| (r.1 % 2 == 1).then_some(0))));
        assert_eq!(ids(&c), ["b", "a"]);
        assert_eq!((c.len(), c.total()), (2, 3));
        c.modify("c", |r| r.1 = 5);
        assert_eq!(ids(&c), ["b", "a", "c"]);
        c.upsert(Row("a".into(), 4));
        assert_eq!(ids(&c), ["b", "c"]);
        assert_eq!(c.position("c"), Some(1));
        assert_eq!(c.position("a"), None);
        c.remove("b");
        c.upsert(Row("d".into(), 0));
        assert_eq!(ids(&c), ["c"]);
        c.set_spec(true);
        assert_eq!(ids(&c), ["c"]);
        c.set_filter(None);
        assert_eq!(ids(&c), ["c", "a", "d"]);
    }

    #[test]
    fn matches_a_full_sort_after_every_change() {
        // A small deterministic generator: the test must not be flaky.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut c = Collection::new(by_value, false);
        let mut truth: std::collections::BTreeMap<String, i32> = Default::default();
        for step in 0..2000 {
            let id = format!("id{}", next(60));
            match next(4) {
                0 => {
                    c.remove(&id);
                    truth.remove(&id);
                }
                1 => {
                    let v = next(20) as i32;
                    c.modify(&id, |r| r.1 = v);
                    if let Some(t) = truth.get_mut(&id) {
                        *t = v;
                    }
                }
                _ => {
                    let v = next(20) as i32;
                    c.upsert(Row(id.clone(), v));
                    truth.insert(id, v);
                }
            }
            let mut want: Vec<Row> = truth.iter().map(|(k, v)| Row(k.clone(), *v)).collect();
            want.sort_by(|a, b| by_value(&false, a, b));
            let got: Vec<Row> = c.iter_from(0).cloned().collect();
            assert_eq!(got, want, "after step {step}");
        }
    }

    #[test]
    fn blocks_split_and_empty_and_stay_sorted_filtered_or_not() {
        // Thousands of items: blocks fill, split and empty; a filter follows along.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut c = Collection::new(by_value, false);
        c.replace_all((0..1500i32).map(|i| Row(format!("id{i}"), i % 97)));
        // Two ranks: odd values first, then even ones.
        c.set_filter(Some(Box::new(|r: &Row| {
            (r.1 % 3 != 0).then_some(1 - (r.1 % 2) as u32)
        })));
        let mut truth: std::collections::BTreeMap<String, i32> =
            (0..1500i32).map(|i| (format!("id{i}"), i % 97)).collect();
        for step in 0..6000 {
            let id = format!("id{}", next(3000));
            let v = next(200) as i32;
            match next(3) {
                0 => {
                    c.remove(&id);
                    truth.remove(&id);
                }
                1 => {
                    c.modify(&id, |r| r.1 = v);
                    if let Some(t) = truth.get_mut(&id) {
                        *t = v;
                    }
                }
                _ => {
                    c.upsert(Row(id.clone(), v));
                    truth.insert(id, v);
                }
            }
            if step % 500 != 0 {
                continue;
            }
            let mut want: Vec<Row> = truth
                .iter()
                .filter(|(_, v)| *v % 3 != 0)
                .map(|(k, v)| Row(k.clone(), *v))
                .collect();
            want.sort_by(|a, b| {
                (1 - a.1 % 2)
                    .cmp(&(1 - b.1 % 2))
                    .then(by_value(&false, a, b))
            });
            let got: Vec<Row> = c.iter_from(0).cloned().collect();
            assert_eq!(got, want, "after step {step}");
            assert_eq!(c.total(), truth.len());
            for (pos, row) in want.iter().enumerate().step_by(37) {
                assert_eq!(c.position(&row.0), Some(pos));
                assert_eq!(c.at(pos), Some(row));
                assert_eq!(c.iter_from(pos).next(), Some(row));
            }
        }
    }
}
