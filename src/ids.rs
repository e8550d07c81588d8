//! Request and trace ids: W3C traceparent, finding ids in free text, and compact keys for correlation.

fn is_hex(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_hexdigit)
}

/// The 32-hex trace id of a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`).
pub fn traceparent_trace_id(s: &str) -> Option<&str> {
    let b = s.trim().as_bytes();
    if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let (ver, trace, parent, flags) = (&b[0..2], &b[3..35], &b[36..52], &b[53..55]);
    if !(is_hex(ver) && is_hex(trace) && is_hex(parent) && is_hex(flags)) || ver == b"ff" {
        return None;
    }
    if trace.iter().all(|&c| c == b'0') {
        return None;
    }
    Some(&s.trim()[3..35])
}

/// True for a UUID: `8-4-4-4-12` hex digits.
pub fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b[18] == b'-'
        && b[23] == b'-'
        // the groups, each tested without an early exit (see `all_hex`)
        && all_hex(&b[..8]) & all_hex(&b[9..13]) & all_hex(&b[14..18]) & all_hex(&b[19..23]) & all_hex(&b[24..])
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// The first UUID or standalone 32-hex token in free text, as a byte range.
pub fn find_id_in_text(text: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_hexdigit() || (i > 0 && is_word(text[i - 1])) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < text.len() && is_word(text[j]) {
            j += 1;
        }
        let tok = &text[i..j];
        if is_uuid(tok) || (tok.len() == 32 && is_hex(tok)) {
            return Some(i..j);
        }
        i = j.max(i + 1);
    }
    None
}

/// MurmurHash3's 64-bit finalizer: spreads every input bit over the whole key (the top byte picks a bin).
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// True when every byte is an ASCII hex digit; no early exit, so the compiler vectorises it.
fn all_hex(b: &[u8]) -> bool {
    b.iter().fold(true, |ok, &c| ok & ((c.wrapping_sub(b'0') < 10) | ((c | 0x20).wrapping_sub(b'a') < 6)))
}

/// One 8-byte word into the hash: multiply, then fold the high half down. A multiply alone carries a difference
/// only upwards, so a difference in a word's top bits could be cancelled by the next word's low bits
/// (`req-10019` and `req-10092` once had one key).
#[inline]
fn mix(h: u64, w: u64) -> u64 {
    let h = (h ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    h ^ (h >> 32)
}

/// Mixing of 8-byte words, finalised with MurmurHash3's fmix64 so the top byte is uniform.
fn hash_words(b: &[u8], seed: u64, fold_case: u64) -> u64 {
    let mut h = seed ^ b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().expect("8 bytes")) | fold_case);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(tail) | fold_case);
    }
    fmix64(h)
}

/// A compact correlation key for an id. UUIDs and hex ids compare case- and dash-insensitively
/// (one system logs `ABC-…`, another `abc…`); other ids compare exactly. Never 0 (0 means "no id").
pub fn key(id: &str) -> u64 {
    key_bytes(id.as_bytes())
}

/// [`key`] of an id given as bytes (as logged; no UTF-8 check needed).
pub fn key_bytes(id: &[u8]) -> u64 {
    const LOWER: u64 = 0x2020_2020_2020_2020; // ORing 0x20 lowercases A-F and leaves digits as they are
    let b = id.trim_ascii();
    let k = if is_uuid(b) {
        let mut digits = [0u8; 32];
        for (dst, src) in [(0, 0..8), (8, 9..13), (12, 14..18), (16, 19..23), (20, 24..36)] {
            digits[dst..dst + src.len()].copy_from_slice(&b[src]);
        }
        hash_words(&digits, 0x5bd1_e995, LOWER)
    } else if (16..=64).contains(&b.len()) && all_hex(b) {
        hash_words(b, 0x5bd1_e995, LOWER)
    } else {
        hash_words(b, 0x9e37_79b9_7f4a_7c15, 0)
    };
    k.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_of_one_shape_do_not_share_keys() {
        assert_ne!(key("req-10019"), key("req-10092"));
        for shape in ["req-{}", "{}", "order-{}-x", "a{}"] {
            let mut seen = std::collections::HashSet::new();
            for n in 0..200_000 {
                assert!(seen.insert(key(&shape.replace("{}", &n.to_string()))), "{shape} {n}");
            }
        }
    }

    #[test]
    fn traceparent() {
        assert_eq!(
            traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(traceparent_trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), None);
        assert_eq!(traceparent_trace_id("garbage"), None);
    }

    #[test]
    fn finds_ids_in_text() {
        let t = b"upstream timed out req=3fa85f64-5717-4562-b3fc-2c963f66afa6 after 30s";
        let r = find_id_in_text(t).unwrap();
        assert_eq!(&t[r], b"3fa85f64-5717-4562-b3fc-2c963f66afa6");
        let t = b"id 0af7651916cd43dd8448eb211c80319c done";
        assert_eq!(&t[find_id_in_text(t).unwrap()], b"0af7651916cd43dd8448eb211c80319c");
        assert!(find_id_in_text(b"no ids here deadbeef").is_none());
        assert!(find_id_in_text(b"x0af7651916cd43dd8448eb211c80319c").is_none());
    }

    proptest::proptest! {
        #[test]
        fn uuid_test_as_bytewise(b in proptest::collection::vec(proptest::sample::select(&b"09afAFgG-x\xff"[..]), 36), dashes: bool) {
            let mut b = b;
            if dashes {
                for i in [8, 13, 18, 23] {
                    b[i] = b'-';
                }
            }
            let dash = |i| [8, 13, 18, 23].contains(&i);
            let want = b.iter().enumerate().all(|(i, &c)| if dash(i) { c == b'-' } else { c.is_ascii_hexdigit() });
            proptest::prop_assert_eq!(is_uuid(&b), want);
            proptest::prop_assert!(!is_uuid(&b[1..]));
        }
    }

    #[test]
    fn keys_normalise_hex_ids() {
        assert_eq!(key("3FA85F64-5717-4562-B3FC-2C963F66AFA6"), key("3fa85f6457174562b3fc2c963f66afa6"));
        assert_ne!(key("Abc"), key("abc"));
        assert_ne!(key("a"), 0);
        assert_ne!(key("0af7651916cd43dd8448eb211c80319c"), key("0af7651916cd43dd8448eb211c80319d"));
        assert_ne!(key("abcdefgh12345678"), key("abcdefgh12345679"));
        assert_ne!(key("req-1"), key("req-2"));
    }
}
