-- Schema version 7: chunk files may hold shuffled frames ("SLXS": a float
-- chunk byte-shuffled by element width, then zstd; crates/store/src/delta.rs).
-- No table changes: the version tells builds that cannot read those frames
-- to refuse the store instead of calling its chunks damaged.
SELECT 1;
