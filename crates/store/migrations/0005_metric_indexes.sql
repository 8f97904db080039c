-- Schema version 5: metric series of a million points stay fast to open.
-- Non-finite points (NaN is NULL; the infinities are beyond the largest
-- double) in their own partial index: `snapline nan` and the app find the
-- first one of each series without reading the others. The WHERE clause must
-- stay word for word the one in `FIRST_NONFINITE_METRICS` (nonfinite.rs).
CREATE INDEX metrics_nonfinite ON metrics(run_id, name, step, time)
    WHERE value IS NULL OR value > 1.7976931348623157e308 OR value < -1.7976931348623157e308;
