//! Arbitrary bytes as a bundle file: opening and verifying must return Ok
//! or Err, never panic, never allocate beyond the format's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = snapline_bundle::verify_bytes(data);
});
