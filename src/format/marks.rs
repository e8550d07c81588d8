//! Structural marks of a line: where its spaces and quotes are, as bit masks built in one pass.
//!
//! The nginx fast path steers by spaces and quotes only. Finding them with one `memchr` call per field costs
//! more in call setup than in scanning (fields are 3–40 bytes), so [`Marks::of`] classifies the whole line
//! 16 bytes at a time (SSE2 on x86_64, SWAR elsewhere) and the scanner then walks the masks with
//! `trailing_zeros`. The same pass tells whether the line holds a backslash or a non-ASCII byte, which the fast
//! path refuses.

use memchr::{memchr, memrchr};

/// Longest line the masks cover; longer lines are scanned with `memchr` (see [`Memchr`]).
pub(crate) const MAX_LEN: usize = 512;
const WORDS: usize = MAX_LEN / 64;

/// Where the next space or quote is, at or after a position.
pub(crate) trait Find {
    /// The first `' '` at or after `from`.
    fn space(&self, from: usize) -> Option<usize>;
    /// The first `'"'` at or after `from`.
    fn quote(&self, from: usize) -> Option<usize>;
    /// The last `' '` in `from..to`.
    fn space_before(&self, from: usize, to: usize) -> Option<usize>;
}

/// Bit `i` of word `i / 64` is set when byte `i` of the line is a space (a quote).
pub(crate) struct Marks {
    spaces: [u64; WORDS],
    quotes: [u64; WORDS],
}

impl Marks {
    /// The marks of a plain line: `None` when it is longer than [`MAX_LEN`] or holds a backslash or a byte
    /// outside ASCII.
    #[inline]
    pub(crate) fn of(line: &[u8]) -> Option<Marks> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { Self::of_avx2(line) };
        }
        Self::build(line, classify)
    }

    /// [`Marks::of`] with AVX2, where the CPU has it (checked at run time: x86_64's baseline is SSE2 only).
    /// Classifying 32 bytes per compare halves the instructions of the pass over the line.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn of_avx2(line: &[u8]) -> Option<Marks> {
        Self::build(line, |b| classify_avx2(b))
    }

    /// [`Marks::of`] with a given 64-byte classifier (tests run the portable one on every target).
    #[inline(always)]
    fn build(line: &[u8], classify: impl Fn(&[u8; 64]) -> Class) -> Option<Marks> {
        if line.len() > MAX_LEN {
            return None;
        }
        let mut m = Marks { spaces: [0; WORDS], quotes: [0; WORDS] };
        let mut bad = false;
        let mut chunks = line.chunks_exact(64);
        for (i, c) in (&mut chunks).enumerate() {
            let c = classify(c.try_into().expect("64 bytes"));
            (m.spaces[i], m.quotes[i]) = (c.spaces, c.quotes);
            bad |= c.bad;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let i = line.len() / 64;
            let c = if line.len() >= 64 {
                // the last 64 bytes, overlapping the chunk before; shift out the bits already seen
                let c = classify(line[line.len() - 64..].try_into().expect("64 bytes"));
                let seen = 64 - rest.len();
                Class { spaces: c.spaces >> seen, quotes: c.quotes >> seen, bad: c.bad }
            } else {
                let mut tail = [0u8; 64]; // NUL is none of the marked bytes
                tail[..rest.len()].copy_from_slice(rest);
                classify(&tail)
            };
            (m.spaces[i], m.quotes[i]) = (c.spaces, c.quotes);
            bad |= c.bad;
        }
        (!bad).then_some(m)
    }
}

/// The first set bit at or after `from`.
#[inline(always)]
fn next(mask: &[u64; WORDS], from: usize) -> Option<usize> {
    let mut w = from / 64;
    let mut bits = *mask.get(w)? & (u64::MAX << (from % 64));
    loop {
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        w += 1;
        bits = *mask.get(w)?;
    }
}

/// The last set bit in `from..to`.
#[inline(always)]
fn prev(mask: &[u64; WORDS], from: usize, to: usize) -> Option<usize> {
    if to <= from {
        return None;
    }
    let mut w = (to - 1) / 64;
    let mut bits = *mask.get(w)? & (u64::MAX >> (63 - (to - 1) % 64));
    loop {
        if bits != 0 {
            let p = w * 64 + 63 - bits.leading_zeros() as usize;
            return (p >= from).then_some(p);
        }
        if w * 64 <= from {
            return None;
        }
        w -= 1;
        bits = mask[w];
    }
}

impl Find for Marks {
    #[inline(always)]
    fn space(&self, from: usize) -> Option<usize> {
        next(&self.spaces, from)
    }

    #[inline(always)]
    fn quote(&self, from: usize) -> Option<usize> {
        next(&self.quotes, from)
    }

    #[inline(always)]
    fn space_before(&self, from: usize, to: usize) -> Option<usize> {
        prev(&self.spaces, from, to)
    }
}

/// Spaces and quotes found with `memchr`, for lines longer than the masks cover.
pub(crate) struct Memchr<'a>(pub &'a [u8]);

impl Find for Memchr<'_> {
    fn space(&self, from: usize) -> Option<usize> {
        Some(from + memchr(b' ', self.0.get(from..)?)?)
    }

    fn quote(&self, from: usize) -> Option<usize> {
        Some(from + memchr(b'"', self.0.get(from..)?)?)
    }

    fn space_before(&self, from: usize, to: usize) -> Option<usize> {
        Some(from + memrchr(b' ', self.0.get(from..to)?)?)
    }
}

/// What 64 bytes hold: a bit per space, a bit per quote, and whether any is a backslash or not ASCII.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Class {
    spaces: u64,
    quotes: u64,
    bad: bool,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify(b: &[u8; 64]) -> Class {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let (mut spaces, mut quotes) = (0u64, 0u64);
    // SAFETY: these intrinsics need SSE2, which every x86_64 CPU has (it is in the target's baseline), and each
    // unaligned load reads 16 bytes inside `b`.
    let bad = unsafe {
        let (sp, qu, bs) = (_mm_set1_epi8(b' ' as i8), _mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8));
        let mut bad = _mm_set1_epi8(0);
        for i in 0..4 {
            let v = _mm_loadu_si128(b.as_ptr().add(16 * i).cast::<__m128i>());
            spaces |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp)) as u16 as u64) << (16 * i);
            quotes |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, qu)) as u16 as u64) << (16 * i);
            // the sign bit of a byte is set when it is not ASCII and, after the OR, when it is a backslash
            bad = _mm_or_si128(bad, _mm_or_si128(v, _mm_cmpeq_epi8(v, bs)));
        }
        _mm_movemask_epi8(bad)
    };
    Class { spaces, quotes, bad: bad != 0 }
}

/// [`classify`] with AVX2: two 32-byte halves.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn classify_avx2(b: &[u8; 64]) -> Class {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };
    // SAFETY: the caller has AVX2 (this function's target feature), and each unaligned load reads 32 bytes
    // inside `b`.
    let (lo, hi) = unsafe {
        (_mm256_loadu_si256(b.as_ptr().cast::<__m256i>()), _mm256_loadu_si256(b.as_ptr().add(32).cast::<__m256i>()))
    };
    let (sp, qu, bs) = (_mm256_set1_epi8(b' ' as i8), _mm256_set1_epi8(b'"' as i8), _mm256_set1_epi8(b'\\' as i8));
    let bits = |v: u64, w: u64| v | w << 32;
    let spaces = bits(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, sp)) as u32 as u64,
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, sp)) as u32 as u64,
    );
    let quotes = bits(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, qu)) as u32 as u64,
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, qu)) as u32 as u64,
    );
    // the sign bit of a byte is set when it is not ASCII and, after the OR, when it is a backslash
    let bad =
        _mm256_or_si256(_mm256_or_si256(lo, _mm256_cmpeq_epi8(lo, bs)), _mm256_or_si256(hi, _mm256_cmpeq_epi8(hi, bs)));
    Class { spaces, quotes, bad: _mm256_movemask_epi8(bad) != 0 }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classify(b: &[u8; 64]) -> Class {
    classify_swar(b)
}

/// The portable classifier: eight 8-byte words, bytes compared with SWAR arithmetic.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn classify_swar(b: &[u8; 64]) -> Class {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // the high bit of each byte of `w` that equals `c` (exact: no carries between bytes)
    let eq = |w: u64, c: u8| {
        let x = w ^ (ONES * c as u64);
        !(((x & LO7) + LO7) | x) & HI
    };
    // gather the high bit of each byte into the low 8 bits, byte 0 → bit 0
    let gather = |m: u64| (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let (mut spaces, mut quotes, mut bad) = (0, 0, 0);
    for (i, w) in b.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        spaces |= gather(eq(w, b' ')) << (8 * i);
        quotes |= gather(eq(w, b'"')) << (8 * i);
        bad |= (w | eq(w, b'\\')) & HI;
    }
    Class { spaces, quotes, bad: bad != 0 }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn naive(b: &[u8; 64]) -> Class {
        let bits = |c: u8| b.iter().enumerate().filter(|&(_, &x)| x == c).fold(0u64, |m, (i, _)| m | 1 << i);
        Class { spaces: bits(b' '), quotes: bits(b'"'), bad: b.iter().any(|&c| c == b'\\' || !c.is_ascii()) }
    }

    /// Walk a line with `f` as the scanner does and list every space and quote it finds.
    fn walk(f: &impl Find, len: usize) -> (Vec<usize>, Vec<usize>) {
        let (mut s, mut q) = (Vec::new(), Vec::new());
        let mut i = 0;
        while let Some(p) = f.space(i) {
            s.push(p);
            i = p + 1;
        }
        let mut i = 0;
        while let Some(p) = f.quote(i) {
            q.push(p);
            i = p + 1;
        }
        assert_eq!(f.space(len + 1), None);
        assert_eq!(f.quote(len + 100), None);
        // backwards, from every start, as the request's protocol is found
        for from in (0..=len).step_by(13).chain([len.saturating_sub(1), len]) {
            let mut back = Vec::new();
            let mut to = len;
            while let Some(p) = f.space_before(from, to) {
                back.push(p);
                to = p;
            }
            back.reverse();
            let want: Vec<usize> = s.iter().copied().filter(|&p| p >= from).collect();
            assert_eq!(back, want, "from {from}");
        }
        assert_eq!(f.space_before(len, len + 1), None);
        (s, q)
    }

    fn check_line(line: &[u8]) {
        let plain = line.len() <= MAX_LEN && line.is_ascii() && !line.contains(&b'\\');
        let reference = walk(&Memchr(line), line.len());
        // `of` is the AVX2 pass where the CPU has it; `classify` is then the SSE2 one
        for m in [Marks::of(line), Marks::build(line, classify), Marks::build(line, classify_swar)] {
            assert_eq!(m.is_some(), plain, "{line:?}");
            if let Some(m) = m {
                assert_eq!(walk(&m, line.len()), reference, "{line:?}");
            }
        }
    }

    /// Bytes biased towards the ones the classifier looks for.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![Just(b' '), Just(b'"'), Just(b'\\'), Just(b'a'), Just(0x7f), Just(0x80), Just(0xff), any::<u8>()]
    }

    proptest! {
        #[test]
        fn classifiers_match_naive(b in prop::collection::vec(byte(), 64)) {
            let b: [u8; 64] = b.try_into().unwrap();
            prop_assert_eq!(classify(&b), naive(&b));
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                prop_assert_eq!(unsafe { classify_avx2(&b) }, naive(&b));
            }
            prop_assert_eq!(classify_swar(&b), naive(&b));
        }

        #[test]
        fn marks_match_memchr(line in prop::collection::vec(prop_oneof![4 => Just(b'x'), 1 => byte()], 0..600)) {
            check_line(&line);
        }

        #[test]
        fn marks_match_memchr_on_plain_lines(line in prop::collection::vec(prop_oneof![Just(b'x'), Just(b' '), Just(b'"')], 0..600)) {
            check_line(&line);
        }
    }

    #[test]
    fn edges() {
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 511, 512, 513] {
            let mut line: Vec<u8> = (0..len).map(|i| if i % 7 == 3 { b' ' } else { b'"' }).collect();
            check_line(&line);
            line.iter_mut().for_each(|b| *b = b'a');
            check_line(&line);
            if len > 0 {
                line[len - 1] = b' ';
                check_line(&line);
                line[len - 1] = b'\\';
                check_line(&line);
                line[len - 1] = 0x80;
                check_line(&line);
            }
        }
    }
}
