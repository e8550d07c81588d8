//! Arbitrary bytes into gatewatch::fuzzing::haproxy_format (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatewatch::fuzzing::haproxy_format(data));
