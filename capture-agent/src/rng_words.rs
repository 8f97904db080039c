//! Which Mersenne Twister words are stored as a twist frame (issue #16).
//!
//! A generator's 624 words (Python's `random`, numpy's legacy MT19937) are
//! new at a snapshot only when the generator regenerated them, and then
//! they are the previous words twisted once or a few times
//! (crates/store/src/twist.rs). Per generator (by its snapshot path) this
//! remembers the last words seen and the chunk they are a twist of: the
//! last words stored whole (the *keyframe*) and how many twists from it.
//! New words found within [`SEARCH`] twists of the last ones are stored as
//! "the keyframe twisted k times" (25 bytes instead of 2.5 KB); past
//! [`snapline_store::MAX_TWISTS`] from the keyframe, or when no twist
//! matches (a reseed, `setstate`), they are stored whole and become the
//! next keyframe, so a read twists a bounded number of times from one
//! plain chunk.

use std::collections::HashMap;

use snapline_array_scan::ChunkHash;
use snapline_store::{twists_between, MAX_TWISTS, MT_WORDS_BYTES};

/// Twists tried between two snapshots' words (each about 624 word
/// operations): a loop draws at most `SEARCH * 624` words between two
/// snapshots for its generator's words to be found.
pub const SEARCH: u32 = 64;

/// Generators remembered (cleared past it).
const LINES: usize = 1024;

/// One generator's last words and what they are a twist of.
struct Line {
    words: Vec<u8>,
    /// (keyframe stored whole, twists from it to `words`); `None` when the
    /// words are not known to be a twist of a chunk stored whole.
    anchor: Option<(ChunkHash, u32)>,
}

#[derive(Default)]
pub struct RngWords {
    lines: HashMap<String, Line>,
}

/// How to store a generator's new words.
#[derive(Debug, PartialEq, Eq)]
pub enum WordsFrame {
    /// The keyframe's words twisted this many times.
    Twist(ChunkHash, u32),
    /// Whole (they become the generator's keyframe).
    Whole,
}

impl RngWords {
    /// Stores generator `key`'s words `words` (hash `hash`): how they are
    /// to be written when `fresh` (new to the store), and remembers them as
    /// the generator's last words.
    pub fn next(&mut self, key: &str, words: &[u8], hash: ChunkHash, fresh: bool) -> WordsFrame {
        let mut anchor = self.anchor_of(key, words, hash);
        let frame = match anchor {
            Some((keyframe, twists)) if twists > 0 => WordsFrame::Twist(keyframe, twists),
            _ => WordsFrame::Whole,
        };
        if fresh && frame == WordsFrame::Whole {
            anchor = Some((hash, 0));
        }
        if words.len() == MT_WORDS_BYTES {
            if self.lines.len() >= LINES && !self.lines.contains_key(key) {
                self.lines.clear();
            }
            let line = Line {
                words: words.to_vec(),
                anchor,
            };
            self.lines.insert(key.to_owned(), line);
        }
        frame
    }

    /// The (keyframe, twists) that `words` are, from generator `key`'s last
    /// words and their anchor.
    fn anchor_of(&self, key: &str, words: &[u8], hash: ChunkHash) -> Option<(ChunkHash, u32)> {
        let line = self.lines.get(key)?;
        let (keyframe, twists) = line.anchor?;
        if line.words == words {
            return Some((keyframe, twists));
        }
        if keyframe == hash {
            return Some((keyframe, 0));
        }
        let more = twists_between(&line.words, words, SEARCH)?;
        let total = twists + more;
        (total <= MAX_TWISTS).then_some((keyframe, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapline_array_scan::hash_bytes;
    use snapline_store::{apply_twist_in_place, encode_twist};

    fn seeded(seed: u32) -> Vec<u8> {
        let mut mt = vec![seed];
        for i in 1..624u32 {
            let p = mt[i as usize - 1];
            mt.push(1_812_433_253u32.wrapping_mul(p ^ (p >> 30)).wrapping_add(i));
        }
        mt.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn twisted(words: &[u8], k: u32) -> Vec<u8> {
        let mut out = words.to_vec();
        apply_twist_in_place("t", &encode_twist(hash_bytes(words), k), &mut out).unwrap();
        out
    }

    #[test]
    fn twists_count_from_the_keyframe_and_a_reseed_is_whole() {
        let mut rng = RngWords::default();
        let w0 = seeded(1);
        let h0 = hash_bytes(&w0);
        assert_eq!(rng.next("$rng.random", &w0, h0, true), WordsFrame::Whole);
        let w1 = twisted(&w0, 1);
        let h1 = hash_bytes(&w1);
        assert_eq!(
            rng.next("$rng.random", &w1, h1, true),
            WordsFrame::Twist(h0, 1)
        );
        assert_eq!(
            rng.next("$rng.random", &w1, h1, false),
            WordsFrame::Twist(h0, 1),
            "same"
        );
        let w3 = twisted(&w1, 2);
        let h3 = hash_bytes(&w3);
        assert_eq!(
            rng.next("$rng.numpy", &w3, h3, true),
            WordsFrame::Whole,
            "another generator"
        );
        assert_eq!(
            rng.next("$rng.random", &w3, h3, true),
            WordsFrame::Twist(h0, 3)
        );
        let reseeded = seeded(2);
        let hr = hash_bytes(&reseeded);
        assert_eq!(
            rng.next("$rng.random", &reseeded, hr, true),
            WordsFrame::Whole
        );
        // The reseeded words are the next keyframe.
        let r1 = twisted(&reseeded, 1);
        assert_eq!(
            rng.next("$rng.random", &r1, hash_bytes(&r1), true),
            WordsFrame::Twist(hr, 1)
        );
    }

    #[test]
    fn words_already_stored_are_no_keyframe() {
        let mut rng = RngWords::default();
        let w0 = seeded(4);
        assert_eq!(
            rng.next("g", &w0, hash_bytes(&w0), false),
            WordsFrame::Whole
        );
        let w1 = twisted(&w0, 1);
        assert_eq!(rng.next("g", &w1, hash_bytes(&w1), true), WordsFrame::Whole);
    }

    #[test]
    fn past_the_most_twists_the_words_are_stored_whole() {
        let mut rng = RngWords::default();
        let w0 = seeded(9);
        rng.next("g", &w0, hash_bytes(&w0), true);
        let mut last = w0;
        for _ in 0..MAX_TWISTS / SEARCH {
            last = twisted(&last, SEARCH);
            let frame = rng.next("g", &last, hash_bytes(&last), true);
            assert!(matches!(frame, WordsFrame::Twist(..)), "{frame:?}");
        }
        let next = twisted(&last, 1);
        assert_eq!(
            rng.next("g", &next, hash_bytes(&next), true),
            WordsFrame::Whole
        );
    }
}
