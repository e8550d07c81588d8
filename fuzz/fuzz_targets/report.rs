//! Arbitrary bytes into gatewatch::fuzzing::report (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatewatch::fuzzing::report(data));
