//! Route normalisation: `/v1/orders/123?x=1` → `/v1/orders/{id}`, so errors group by endpoint.

/// True for a path segment that is an identifier rather than part of the route: all digits, a UUID, a hex
/// object id or hash (8+ hex digits with a digit among them), or a long opaque token (20+ base64/ULID/slug
/// characters with 2+ digits). Route words (`v1`, `orders`) are rejected after a byte or two.
fn is_id_segment(seg: &[u8]) -> bool {
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

/// Walk the normalised route of a request target segment by segment (`{id}` for id-like ones): the query and
/// fragment are dropped, absolute-form targets keep only their path, empty segments (`//`) vanish.
fn segments<'a>(target: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    let mut path = target;
    if let Some(rest) = path.strip_prefix(b"http://").or_else(|| path.strip_prefix(b"https://")) {
        path = memchr::memchr(b'/', rest).map_or(b"/", |i| &rest[i..]);
    }
    let end = memchr::memchr2(b'?', b'#', path).unwrap_or(path.len());
    let path = &path[..end];
    let mut start = 0;
    for slash in memchr::memchr_iter(b'/', path).chain(std::iter::once(path.len())) {
        if slash > start {
            let seg = &path[start..slash];
            f(if is_id_segment(seg) { b"{id}" } else { seg });
        }
        start = slash + 1;
    }
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
pub fn route_key(target: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    segments(target, |seg| {
        h.write(seg);
        h.write_u8(b'/');
    });
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::normalize;

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
