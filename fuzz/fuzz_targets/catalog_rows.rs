//! Arbitrary bytes as a bundle's catalog part: parsing and checking the
//! rows must return Ok or Err, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = snapline_bundle::parse_catalog(data);
});
