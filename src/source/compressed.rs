//! Compressed logs — what logrotate leaves (`access.log.2.gz`, `.zst`, `.bz2`, `.xz`) — recognised by their first bytes, not
//! their names, and read decompressed as a stream. A file that cannot be decompressed is an error naming it, never
//! a report of the compressed bytes read as text.

use std::io::{self, BufRead, BufReader, Read};

/// A compression a log file may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz (`.xz`).
    Xz,
}

impl Compression {
    /// The compression whose magic number `head` (a file's first bytes) starts with.
    pub fn of(head: &[u8]) -> Option<Compression> {
        match head {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            // a skippable frame first, as `pzstd` writes one before each frame (magic 0x184D2A50 to 0x184D2A5F)
            [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Some(Compression::Zstd),
            // `BZh` and the block size, 1 to 9 (hundreds of kB)
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Compression::Bzip2),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    /// `input` decompressed: every member of a gzip file (files joined with `cat` are one log), every frame of a
    /// zstd one, every stream of a bzip2 or an xz one; on up to `threads` threads where its frames or members can be
    /// decoded apart ([`super::frames`]), else on one.
    pub fn reader<R: Read + Send + 'static>(self, input: R, threads: usize) -> Box<dyn Read + Send> {
        let kind = match self {
            Compression::Gzip if threads > 1 => super::frames::Kind::Gzip,
            Compression::Zstd if threads > 1 => super::frames::Kind::Zstd,
            _ => return Box::new(Damaged { inner: self.decoder(Box::new(input)), what: self }),
        };
        let input = BufReader::with_capacity(256 << 10, input);
        let inner = super::frames::reader(kind, input, threads, Box::new(move |rest| self.decoder(rest)));
        Box::new(Damaged { inner, what: self })
    }

    /// The decoder itself, whose errors do not say what the stream was.
    pub(super) fn decoder(self, input: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        let input = BufReader::with_capacity(256 << 10, input);
        match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Compression::Zstd => Box::new(ZstdFrames { source: input, frame: None }),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
            Compression::Xz => Box::new(lzma_rust2::XzReader::new(input, true)),
        }
    }
}

/// A decoder whose errors say what the stream was: theirs alone (`failed to fill whole buffer`) do not.
struct Damaged<R> {
    inner: R,
    what: Compression,
}

impl<R: Read> Read for Damaged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let what = self.what.name();
            io::Error::new(io::ErrorKind::InvalidData, format!("not a valid {what} stream, cut short or damaged: {e}"))
        })
    }
}

/// A zstd stream of one or more frames (skippable frames skipped), read as one.
struct ZstdFrames<R: Read> {
    source: BufReader<R>,
    frame: Option<ruzstd::decoding::FrameDecoder>,
}

fn corrupt(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if let Some(dec) = self.frame.as_mut() {
                while dec.can_collect() == 0 && !dec.is_finished() {
                    dec.decode_blocks(&mut self.source, ruzstd::decoding::BlockDecodingStrategy::UptoBytes(1 << 20))
                        .map_err(corrupt)?;
                }
                let n = dec.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                if !dec.is_finished() {
                    continue;
                }
            }
            // the next frame, if the input goes on
            if self.source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let mut dec = self.frame.take().unwrap_or_default();
            match dec.reset(&mut self.source) {
                Ok(()) => self.frame = Some(dec),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    io::copy(&mut (&mut self.source).take(length as u64), &mut io::sink())?;
                    self.frame = Some(dec);
                    // a skipped frame leaves the decoder finished: go on to the next
                    if let Some(d) = self.frame.as_mut()
                        && !d.is_finished()
                    {
                        continue;
                    }
                    self.frame = None;
                }
                Err(e) => return Err(corrupt(e)),
            }
        }
    }
}

/// Whether the file at `path` is compressed (its bytes cannot be searched, sought in or followed as text).
pub fn is_compressed(path: &std::path::Path) -> bool {
    let mut head = [0u8; 6];
    let mut file = std::fs::File::open(path);
    let n = file.as_mut().map_or(0, |f| f.read(&mut head).unwrap_or(0));
    Compression::of(&head[..n]).is_some()
}

/// `input` as text: decompressed when its first bytes say it is compressed. Returns the reader and the
/// compression found.
pub fn open<R: Read + Send + 'static>(input: R) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    open_on(input, 1)
}

/// [`open`], decompressing on up to `threads` threads where the file's frames or members allow.
pub fn open_on<R: Read + Send + 'static>(
    input: R,
    threads: usize,
) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut input = BufReader::with_capacity(64 << 10, input);
    let head = input.fill_buf()?;
    match Compression::of(head) {
        Some(c) => Ok((c.reader(input, threads), Some(c))),
        None => Ok((Box::new(input), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text() -> Vec<u8> {
        (0..20_000).flat_map(|i| format!("line {i} of the log\n").into_bytes()).collect()
    }

    fn read_all(data: Vec<u8>) -> io::Result<(Vec<u8>, Option<Compression>)> {
        let (mut r, c) = open(io::Cursor::new(data))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((out, c))
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(read_all(text()).unwrap(), (text(), None));
        assert_eq!(read_all(Vec::new()).unwrap(), (Vec::new(), None));
    }

    #[test]
    fn gzip_members_joined_read_as_one() {
        let t = text();
        let (a, b) = t.split_at(t.len() / 3);
        let joined = [gzip(a), gzip(b)].concat();
        assert_eq!(read_all(joined).unwrap(), (t, Some(Compression::Gzip)));
    }

    #[test]
    fn zstd_frames_joined_and_skippable_frames_read_as_one() {
        let t = text();
        let (a, b) = t.split_at(t.len() / 3);
        let z = |d: &[u8]| ruzstd::encoding::compress_to_vec(d, ruzstd::encoding::CompressionLevel::Fastest);
        // a skippable frame (magic 0x184D2A50, 4 bytes of length, that many bytes) between the two
        let skip = [&0x184D_2A50u32.to_le_bytes()[..], &3u32.to_le_bytes(), b"abc"].concat();
        let joined = [z(a), skip.clone(), z(b)].concat();
        assert_eq!(read_all(joined).unwrap(), (t.clone(), Some(Compression::Zstd)));
        // as `pzstd` writes: a skippable frame before each
        let pzstd = [skip.clone(), z(a), skip, z(b)].concat();
        assert_eq!(read_all(pzstd).unwrap(), (t, Some(Compression::Zstd)));
    }

    #[test]
    fn a_cut_or_damaged_file_is_an_error() {
        let mut z = gzip(&text());
        z.truncate(z.len() / 2);
        assert!(read_all(z).is_err());
        let mut z = gzip(&text());
        let mid = z.len() / 2;
        z[mid..mid + 64].fill(0xAA);
        assert!(read_all(z).is_err());
        assert!(read_all(vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]).is_err());
    }
}
