//! Parsed GraphQL documents kept for reuse, by their text: a frontend sends the same few
//! documents over and over (with other variables), and parsing one was 3% of the nested page's
//! instructions (pest's parser: 400,000 instructions for 200 bytes), several times what a
//! copy of the parsed document costs.
//!
//! Sound because a document's parse depends on its text alone; everything that depends on the
//! request (variables, the operation's name, the caller) is checked and resolved afresh each
//! time. Bounded twice: a document over [`MAX_CACHED_BYTES`] is parsed each time and not
//! kept, and at most [`CAPACITY`] documents are kept, the least recently used leaving first,
//! so a client that sends a new document every time costs memory no more than that.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// The most documents kept.
pub const CAPACITY: usize = 256;

/// The longest document kept, in bytes: real operations are a few kilobytes at most; a
/// longer one is parsed each time. 256 documents of 8 KiB parse to a few megabytes.
pub const MAX_CACHED_BYTES: usize = 8 * 1024;

/// The parsed documents of one server (see the module's documentation). Cheap to clone.
#[derive(Clone)]
pub struct Documents {
    /// Shared documents, so that the lock is held for a reference count, not for the copy.
    cache: Arc<Mutex<LruCache<String, Arc<ExecutableDocument>>>>,
}

impl Default for Documents {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Documents {
    /// A cache of at most `capacity` documents (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            cache: Arc::new(Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            ))),
        }
    }

    /// A copy of the parsed document of `text`, if it is kept.
    pub fn get(&self, text: &str) -> Option<ExecutableDocument> {
        let kept = self.cache.lock().ok()?.get(text).map(Arc::clone)?;
        Some(ExecutableDocument::clone(&kept))
    }

    /// Keeps the parsed document of `text`, unless the text is too long to keep.
    pub fn insert(&self, text: &str, document: &ExecutableDocument) {
        if text.len() > MAX_CACHED_BYTES {
            return;
        }
        let document = Arc::new(document.clone());
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(text.to_owned(), document);
        }
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Whether no document is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn parsed(text: &str) -> ExecutableDocument {
        parse_query(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_kept_document_is_the_document_its_text_parses_to() {
        let documents = Documents::default();
        let text = "query Page($n: Int) { actors(first: $n) { edges { node { id name } } } }";
        assert!(documents.get(text).is_none());
        documents.insert(text, &parsed(text));
        let kept = documents.get(text).map(|d| format!("{d:?}"));
        assert_eq!(kept, Some(format!("{:?}", parsed(text))));
        // Another text, even one that differs only in spacing, is another entry.
        assert!(documents.get(&text.replace(' ', "  ")).is_none());
    }

    #[test]
    fn the_least_recently_used_document_leaves_first() {
        let documents = Documents::with_capacity(2);
        for text in ["{ a }", "{ b }"] {
            documents.insert(text, &parsed(text));
        }
        // Reading "{ a }" makes "{ b }" the least recently used.
        assert!(documents.get("{ a }").is_some());
        documents.insert("{ c }", &parsed("{ c }"));
        assert_eq!(documents.len(), 2);
        assert!(documents.get("{ b }").is_none());
        assert!(documents.get("{ a }").is_some());
        assert!(documents.get("{ c }").is_some());
    }

    #[test]
    fn a_document_over_the_size_bound_is_not_kept() {
        let documents = Documents::default();
        let long = format!("{{ a {} }}", " ".repeat(MAX_CACHED_BYTES));
        documents.insert(&long, &parsed(&long));
        assert!(documents.is_empty());
        assert!(documents.get(&long).is_none());
    }
}
