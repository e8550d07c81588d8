//! Route normalisation: `/v1/orders/123?x=1` → `/v1/orders/{id}`, so errors group by endpoint.

/// True for a path segment that is an identifier rather than part of the route: all digits, a UUID, a hex
/// object id or hash (8+ hex digits with a digit among them), or a long opaque token (20+ base64/ULID/slug
/// characters with 2+ digits). Route words (`v1`, `orders`) are rejected after a byte or two.
fn is_id_segment(seg: &[u8]) -> bool {
    // a UUID passes the tests below too, but only after several walks over its 36 bytes
    if crate::ids::is_uuid(seg) {
        return true;
    }
    if seg.len() < 8 {
        // only digits can make a short id; no early exit, the loop is a handful of bytes
        return !seg.is_empty() && seg.iter().fold(true, |ok, c| ok & c.is_ascii_digit());
    }
    let Some(first_other) = seg.iter().position(|c| !c.is_ascii_digit()) else {
        return true;
    };
    if first_other > 0 || seg.iter().any(u8::is_ascii_digit) {
        let digits = seg.iter().filter(|c| c.is_ascii_digit()).count();
        if seg.iter().all(u8::is_ascii_hexdigit) {
            return true;
        }
        if seg.len() >= 20
            && digits >= 2
            && seg.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'.' | b'~'))
        {
            return true;
        }
    }
    false
}

/// Walk the normalised route of a request target segment by segment (`{id}` for id-like ones): the query and
/// fragment are dropped, absolute-form targets keep only their path, empty segments (`//`) vanish.
#[inline]
fn segments<'a>(target: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    segments_raw(target, |seg| f(if is_id_segment(seg) { b"{id}" } else { seg }));
}

/// The segments [`segments`] walks, before id-like ones are replaced.
#[inline(always)]
fn segments_raw<'a>(target: &'a [u8], mut emit: impl FnMut(&'a [u8])) {
    let mut path = target;
    if let Some(rest) = path.strip_prefix(b"http://").or_else(|| path.strip_prefix(b"https://")) {
        path = memchr::memchr(b'/', rest).map_or(b"/", |i| &rest[i..]);
    }
    // eight bytes at a time: bit masks of the slashes and of the `?`/`#` that ends the path
    let mut start = 0;
    let mut base = 0;
    while base < path.len() {
        let w = word_at(path, base);
        let (mut slashes, ends) = (eq_bytes(w, b'/'), eq_bytes(w, b'?') | eq_bytes(w, b'#'));
        let end = if ends != 0 { base + ends.trailing_zeros() as usize / 8 } else { usize::MAX };
        while slashes != 0 {
            let slash = base + slashes.trailing_zeros() as usize / 8;
            if slash > end {
                break;
            }
            if slash > start {
                emit(&path[start..slash]);
            }
            start = slash + 1;
            slashes &= slashes - 1;
        }
        if end != usize::MAX {
            if end > start {
                emit(&path[start..end]);
            }
            return;
        }
        base += 8;
    }
    if path.len() > start {
        emit(&path[start..]);
    }
}

/// Bytes `at..at + 8` of `b` as a little-endian word, zero-filled past the end.
#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    if let Some(w) = b.get(at..at + 8) {
        return u64::from_le_bytes(w.try_into().expect("8 bytes"));
    }
    if b.len() >= 8 {
        // the last eight bytes, shifted down past the ones already seen
        let w = u64::from_le_bytes(b[b.len() - 8..].try_into().expect("8 bytes"));
        return w >> (8 * (at + 8 - b.len()));
    }
    short_word(&b[at..])
}

/// Up to seven bytes as a little-endian word, zero-filled, from two overlapping loads.
#[inline(always)]
fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    let load = |at: usize, k: usize| b[at..at + k].iter().rev().fold(0u64, |w, &c| w << 8 | c as u64);
    match n {
        0 => 0,
        1 => b[0] as u64,
        2..=3 => load(0, 2) | load(n - 2, 2) << (8 * (n - 2)),
        _ => {
            let lo = u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as u64;
            let hi = u32::from_le_bytes(b[n - 4..n].try_into().expect("4 bytes")) as u64;
            lo | hi << (8 * (n - 4))
        }
    }
}

/// The high bit of each byte of `w` that equals `c` (exact: no carries cross bytes).
#[inline(always)]
fn eq_bytes(w: u64, c: u8) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (0x0101_0101_0101_0101 * c as u64);
    !(((x & LO7) + LO7) | x) & !LO7
}

/// Normalise a request target into a route: strip the query and fragment, replace id-like segments
/// with `{id}`, collapse repeated slashes. Invalid UTF-8 is replaced.
pub fn normalize_bytes(target: &[u8]) -> String {
    let mut out = String::with_capacity(target.len());
    segments(target, |seg| {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(seg));
    });
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Normalise a request target into a route (see [`normalize_bytes`]).
pub fn normalize(target: &str) -> String {
    normalize_bytes(target.as_bytes())
}

/// A 64-bit key of the normalised route, computed without building it: equal routes, equal keys.
///
/// Each normalised segment is mixed in as its length and then its bytes as little-endian words. Segments shorter
/// than eight bytes (most route words and numeric ids) get a one-word SWAR digit test instead of
/// `is_id_segment`'s byte loop.
pub fn route_key(target: &[u8]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64;
    segments_raw(target, |seg| {
        let n = seg.len();
        if n < 8 {
            // one word holds the whole segment: load it once for the digit test and the mixing
            let w = word_at(seg, 0);
            h = if all_digits(w, n) { mix(mix(h, 4), ID_WORD) } else { mix(mix(h, n as u64), w) };
            return;
        }
        if is_id_segment(seg) {
            // exactly what a literal `{id}` segment mixes in
            h = mix(mix(h, 4), ID_WORD);
            return;
        }
        h = mix(h, n as u64);
        let mut at = 0;
        while at < n {
            h = mix(h, word_at(seg, at));
            at += 8;
        }
    });
    h
}

/// `{id}` as a little-endian word, zero-filled.
const ID_WORD: u64 = u32::from_le_bytes(*b"{id}") as u64;

#[inline(always)]
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(26) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// True when the first `n` (1..=8) bytes of `w` are ASCII digits.
#[inline(always)]
fn all_digits(w: u64, n: usize) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    // a digit XOR '0' is 0..=9, and 9 + 0x76 still leaves the high bit clear; a byte that carries out of its
    // lane has its own high bit set already, so carries only ever flag bytes that fail anyway
    let t = w ^ 0x3030_3030_3030_3030;
    let bad = (t.wrapping_add(0x7676_7676_7676_7676) | t) & HI;
    let mask = if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
    n > 0 && bad & mask == 0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Segments and the id test as they were before their fast paths.
    fn reference(target: &[u8]) -> Vec<Vec<u8>> {
        fn is_id(seg: &[u8]) -> bool {
            let Some(first_other) = seg.iter().position(|c| !c.is_ascii_digit()) else {
                return !seg.is_empty();
            };
            if seg.len() < 8 {
                return false;
            }
            if first_other > 0 || seg.iter().any(u8::is_ascii_digit) {
                let digits = seg.iter().filter(|c| c.is_ascii_digit()).count();
                if seg.iter().all(u8::is_ascii_hexdigit) {
                    return true;
                }
                if seg.len() >= 20
                    && digits >= 2
                    && seg.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'.' | b'~'))
                {
                    return true;
                }
            }
            crate::ids::is_uuid(seg)
        }
        let mut path = target;
        if let Some(rest) = path.strip_prefix(b"http://").or_else(|| path.strip_prefix(b"https://")) {
            path = memchr::memchr(b'/', rest).map_or(b"/", |i| &rest[i..]);
        }
        let end = memchr::memchr2(b'?', b'#', path).unwrap_or(path.len());
        let path = &path[..end];
        let mut out = Vec::new();
        let mut start = 0;
        for slash in memchr::memchr_iter(b'/', path).chain(std::iter::once(path.len())) {
            if slash > start {
                let seg = &path[start..slash];
                out.push(if is_id(seg) { b"{id}".to_vec() } else { seg.to_vec() });
            }
            start = slash + 1;
        }
        out
    }

    fn walked(target: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        segments(target, |s| out.push(s.to_vec()));
        out
    }

    fn target() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(prop::sample::select(&b"//??#a1f9-Z_x.:{}id"[..]), 0..40),
            prop::sample::select(&["", "/", "http://h", "https://h/"][..]),
        )
            .prop_map(|(t, prefix)| [prefix.as_bytes(), &t].concat())
    }

    proptest! {
        #[test]
        fn route_keys_equal_iff_routes_equal(a in target(), b in target()) {
            prop_assert_eq!(route_key(&a) == route_key(&b), normalize_bytes(&a) == normalize_bytes(&b));
            // the same route spelt differently
            let spelt = [normalize_bytes(&a).as_bytes(), b"/"].concat();
            prop_assert_eq!(route_key(&a), route_key(&spelt));
        }

        #[test]
        fn digit_test_and_words_as_bytewise(seg in prop::collection::vec(prop::sample::select(&b"0189/:a\x00\x80\xb9\xff"[..]), 0..8)) {
            prop_assert_eq!(word_at(&seg, 0), seg.iter().rev().fold(0, |w, &c| w << 8 | c as u64));
            prop_assert_eq!(all_digits(word_at(&seg, 0), seg.len()), !seg.is_empty() && seg.iter().all(u8::is_ascii_digit));
        }

        #[test]
        fn segments_as_before(t in prop::collection::vec(prop::sample::select(&b"//??#a1f9-Z_x.:"[..]), 0..40), prefix in prop::sample::select(&["", "/", "http://h", "https://h/"][..])) {
            let mut target = prefix.as_bytes().to_vec();
            target.extend_from_slice(&t);
            prop_assert_eq!(walked(&target), reference(&target));
        }
    }

    #[test]
    fn segments_edges() {
        for t in [
            &b""[..],
            b"/",
            b"/1234567",
            b"/12345678",
            b"/abcdefgh/1?x/2",
            b"/abcdefg/#/2",
            b"/v1/orders/26074",
            b"/v1/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/profile",
            b"/v1/search?q=item280&page=2",
            b"1234567/",
            b"////////////////x",
        ] {
            assert_eq!(walked(t), reference(t), "{}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn ids_become_placeholders() {
        assert_eq!(normalize("/v1/orders/123"), "/v1/orders/{id}");
        assert_eq!(normalize("/v1/orders/123/items/9?expand=1"), "/v1/orders/{id}/items/{id}");
        assert_eq!(normalize("/users/3fa85f64-5717-4562-b3fc-2c963f66afa6"), "/users/{id}");
        assert_eq!(normalize("/obj/507f1f77bcf86cd799439011"), "/obj/{id}");
        assert_eq!(normalize("/t/eyJhbGciOiJIUzI1NiJ9abc123def"), "/t/{id}");
    }

    #[test]
    fn keys_follow_normalisation() {
        use super::route_key;
        assert_eq!(route_key(b"/v1/orders/1?x=2"), route_key(b"/v1/orders/999"));
        assert_eq!(route_key(b"//v1//orders/"), route_key(b"/v1/orders"));
        assert_ne!(route_key(b"/v1/orders/1"), route_key(b"/v1/orders"));
        assert_ne!(route_key(b"/v1/ab"), route_key(b"/v1a/b"));
        assert_eq!(route_key(b"/v1/{id}/x"), route_key(b"/v1/12345678901234567890/x"));
        assert_eq!(route_key(b"/obj/507f1f77bcf86cd799439011"), route_key(b"/obj/1"));
        assert_ne!(route_key(b"/a/b"), route_key(b"/a/b\0"));
    }

    #[test]
    fn words_stay() {
        assert_eq!(normalize("/v2/health"), "/v2/health");
        assert_eq!(normalize("/api/cafe/beef"), "/api/cafe/beef");
        assert_eq!(normalize("//a///b/"), "/a/b");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("?x=1"), "/");
        assert_eq!(normalize("http://example.com/v1/x/42"), "/v1/x/{id}");
    }
}
