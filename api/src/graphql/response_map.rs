//! Response objects whose keys are hashed once per worker thread, not once per object.
//!
//! Why: a response object is async-graphql's `IndexMap<Name, Value>`, and every insert hashes
//! its key with SipHash under its map's own keys (`RandomState::new()` for each map). A page of 50
//! partnerships builds about 2,200 objects' keys (`node`, `id`, `roles`, `actor`, `name`, ...,
//! the same few names over and over), and hashing them was 4.3% of the nested page's
//! instructions. Here every object built on the hot path shares one [`RandomState`] (the
//! type's hasher, so the maps are async-graphql's own), and a key's hash under it is kept in a
//! small per-thread table, found by the address of the key's text.
//!
//! Sound because the table holds a clone of each key it keeps: a key's text cannot be freed,
//! and its address reused by other text, while its hash is kept, so a key at the same address
//! (and of the same length) is the same text, with the same hash. The maps are otherwise
//! ordinary: `get`, `insert` and serialization behave as on any `IndexMap` (the tests compare).
//! One seed for the process is what a single `HashMap` has anyway; the keys are the
//! document's response keys, bounded by the query limits. Each worker thread's table keeps up
//! to [`SLOTS`] keys of earlier requests alive: a few kilobytes.

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;

use async_graphql::indexmap::IndexMap;
use async_graphql::indexmap::map::{RawEntryApiV1, raw_entry_v1::RawEntryMut};
use async_graphql::{Name, Value};

/// The hasher of every object built here.
static HASHER: LazyLock<RandomState> = LazyLock::new(RandomState::new);

/// Slots of the per-thread table of keys' hashes. A document names a few dozen keys; a key
/// whose slot another key took is hashed again, which costs what an ordinary insert does.
const SLOTS: usize = 256;
const _: () = assert!(
    SLOTS.is_power_of_two(),
    "a slot is the top bits of a product"
);

thread_local! {
    /// Each slot: a key (kept alive by this clone) and its hash under [`HASHER`].
    static HASHES: RefCell<[Option<(Name, u64)>; SLOTS]> =
        const { RefCell::new([const { None }; SLOTS]) };
}

/// An object of a response, under construction (see the module's documentation).
pub(crate) struct Object(IndexMap<Name, Value>);

impl Object {
    /// An empty object with room for `capacity` keys.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(IndexMap::with_capacity_and_hasher(capacity, HASHER.clone()))
    }

    /// Sets `key` to `value`, as `IndexMap::insert` does: a new key goes last, a key already
    /// there keeps its place and takes the new value.
    pub(crate) fn insert(&mut self, key: Name, value: Value) {
        let hash = key_hash(&key);
        match self.0.raw_entry_mut_v1().from_hash(hash, |k| *k == key) {
            RawEntryMut::Occupied(mut entry) => {
                *entry.get_mut() = value;
            }
            RawEntryMut::Vacant(entry) => {
                entry.insert_hashed_nocheck(hash, key, value);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The object as a response value.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// `key`'s hash under [`HASHER`], from the thread's table when the same key was hashed before.
fn key_hash(key: &Name) -> u64 {
    let text: &str = key.as_str();
    // Fibonacci hashing of the address: the text sits at a fixed offset in its aligned
    // allocation, so the address's low bits say little; the product's top bits mix all of them.
    let slot = ((text.as_ptr() as usize as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> (u64::BITS - SLOTS.trailing_zeros())) as usize;
    HASHES.with_borrow_mut(|slots| {
        if let Some((kept, hash)) = &slots[slot]
            && std::ptr::eq(kept.as_str(), text)
        {
            return *hash;
        }
        let hash = HASHER.hash_one(key);
        slots[slot] = Some((key.clone(), hash));
        hash
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<Name> {
        (0..n).map(|i| Name::new(format!("key{i}"))).collect()
    }

    /// The same inserts into an ordinary map.
    fn ordinary(inserts: &[(Name, Value)]) -> IndexMap<Name, Value> {
        let mut map = IndexMap::new();
        for (key, value) in inserts {
            map.insert(key.clone(), value.clone());
        }
        map
    }

    fn built(inserts: &[(Name, Value)]) -> IndexMap<Name, Value> {
        let mut object = Object::with_capacity(inserts.len());
        for (key, value) in inserts {
            object.insert(key.clone(), value.clone());
        }
        match object.into_value() {
            Value::Object(map) => map,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn an_object_is_the_map_an_ordinary_insert_builds() {
        let keys = names(5);
        let inserts: Vec<(Name, Value)> = vec![
            (keys[0].clone(), Value::from(1)),
            (keys[1].clone(), Value::from("one")),
            (keys[2].clone(), Value::Null),
            // A key again: keeps its place, takes the new value.
            (keys[0].clone(), Value::from(2)),
            // The same text under another allocation is the same key.
            (Name::new("key1"), Value::from("two")),
            (keys[3].clone(), Value::from(true)),
        ];
        let map = built(&inserts);
        assert_eq!(map, ordinary(&inserts));
        assert_eq!(
            map.keys().map(Name::as_str).collect::<Vec<_>>(),
            ["key0", "key1", "key2", "key3"]
        );
        assert_eq!(map.get("key0"), Some(&Value::from(2)));
        assert_eq!(map.get("key1"), Some(&Value::from("two")));
        assert_eq!(map.get("key4"), None);
        assert_eq!(
            serde_json::to_string(&Value::Object(map)).expect("serializes"),
            r#"{"key0":2,"key1":"two","key2":null,"key3":true}"#
        );
    }

    #[test]
    fn a_page_of_objects_with_the_same_keys_is_what_ordinary_inserts_build() {
        // As on a page: many objects of the same few keys (the same `Name`s, from the
        // document), so nearly every insert takes its hash from the table; each key twice.
        let keys = names(6);
        for object in 0..200 {
            let mut inserts: Vec<(Name, Value)> = keys
                .iter()
                .map(|key| (key.clone(), Value::from(object)))
                .collect();
            inserts.push((keys[object % keys.len()].clone(), Value::from("again")));
            let map = built(&inserts);
            assert_eq!(map, ordinary(&inserts), "object {object}");
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(map.get_index_of(key.as_str()), Some(i), "object {object}");
            }
        }
        // Whatever the table holds now, each key's hash is the shared hasher's.
        for key in &keys {
            assert_eq!(key_hash(key), HASHER.hash_one(key), "{key}");
        }
    }

    #[test]
    fn keys_are_found_with_more_keys_than_slots() {
        // Three times more keys than slots, twice over, into an object that grows past its
        // capacity: keys take each other's slots.
        let keys = names(3 * SLOTS);
        for _ in 0..2 {
            let mut object = Object::with_capacity(1);
            for (i, key) in keys.iter().enumerate() {
                object.insert(key.clone(), Value::from(i as i32));
            }
            let Value::Object(map) = object.into_value() else {
                panic!("not an object");
            };
            assert_eq!(map.len(), keys.len());
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(map.get(key.as_str()), Some(&Value::from(i as i32)), "{key}");
            }
        }
        for key in &keys {
            assert_eq!(key_hash(key), HASHER.hash_one(key), "{key}");
        }
    }

    #[test]
    fn a_freed_key_s_address_taken_by_other_text_of_its_length_is_hashed_afresh() {
        // Each round hashes a key and frees it at once, then makes a key of other text of the
        // same length, which the allocator may place at the freed address. Were the table to
        // keep only the address and length (not a clone of the key), the new key would take
        // the old one's hash and not be found.
        let mut object = Object::with_capacity(0);
        for i in 0..1000 {
            let _ = key_hash(&Name::new(format!("a{i:04}")));
            object.insert(Name::new(format!("b{i:04}")), Value::from(i));
        }
        let Value::Object(map) = object.into_value() else {
            panic!("not an object");
        };
        assert_eq!(map.len(), 1000);
        for i in 0..1000 {
            assert_eq!(map.get(format!("b{i:04}").as_str()), Some(&Value::from(i)));
        }
    }
}
