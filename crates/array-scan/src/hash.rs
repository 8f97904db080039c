//! Chunk content hashes.

use std::fmt;

/// 128-bit xxh3 of one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkHash(pub u128);

impl ChunkHash {
    /// 32 lowercase hex characters (most significant nibble first).
    pub fn to_hex(&self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parses exactly 32 hex characters (either case); anything else is `None`.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(s, 16).ok().map(ChunkHash)
    }
}

impl fmt::Display for ChunkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Serialized as its 32-character hex string.
impl serde::Serialize for ChunkHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for ChunkHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        ChunkHash::from_hex(&s).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &"32 hex characters")
        })
    }
}

/// xxh3-128 of `bytes`: the content hash of a chunk.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> ChunkHash {
    ChunkHash(xxhash_rust::xxh3::xxh3_128(bytes))
}
