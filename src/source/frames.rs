//! Compressed files made of independent pieces, decompressed on several threads at once and handed out in order:
//! zstd frames (`pzstd` writes one per few megabytes; files joined with `cat` are several) and gzip members that
//! say their length (BGZF, as `bgzip` writes: a `BC` field in the header). The pieces are found by reading their
//! headers — a zstd frame's block headers give its length without decoding it — so the input is read once, as a
//! stream. A piece whose length cannot be known cheaply (an ordinary gzip member) or that is too big to hold
//! decoded (a single-frame `.zst` of a whole log) ends the parallel part: from there the file is decoded as one
//! stream, as before.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// The most compressed bytes one piece may hold to be decoded apart.
const MAX_PIECE: usize = 16 << 20;
/// The most decoded bytes one piece may give (a zstd block decodes to 128 KiB at most).
const MAX_DECODED: usize = 32 << 20;
/// The most decoded bytes the pieces under way may hold together (at least one piece is always under way).
const IN_FLIGHT: usize = 96 << 20;
/// What one piece decodes to at most: a zstd block 128 KiB, a BGZF member 64 KiB.
const BLOCK: usize = 128 << 10;
const ZSTD_MAGIC: u32 = 0xFD2F_B528;

type Decoded = mpsc::Receiver<io::Result<Vec<u8>>>;
/// A piece to decode, and where to send it decoded.
type Job = (Vec<u8>, mpsc::SyncSender<io::Result<Vec<u8>>>);

/// The formats whose pieces are found here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gzip,
    Zstd,
}

/// How the input is decoded as one stream, from where its pieces cannot be decoded apart.
pub type Serial = Box<dyn FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send> + Send>;

/// `input` (compressed as `kind`) decompressed, on `threads` threads where its pieces allow, by `serial` from
/// where they do not.
pub fn reader<R: Read + Send + 'static>(
    kind: Kind,
    input: BufReader<R>,
    threads: usize,
    serial: Serial,
) -> Box<dyn Read + Send> {
    Box::new(Parallel::new(kind, input, threads, serial, MAX_PIECE))
}

/// A piece of the input, as [`next_piece`] finds it.
enum Piece {
    /// A whole piece to decode apart, and the most it decodes to.
    Apart(Vec<u8>, usize),
    /// A zstd skippable frame, skipped.
    Skipped,
    /// The input's end.
    End,
    /// From here the input is decoded as one stream, starting with these bytes already read from it.
    Serial(Vec<u8>),
}

struct Parallel<R: Read> {
    kind: Kind,
    input: Option<BufReader<R>>,
    pool: Option<mpsc::Sender<Job>>,
    threads: usize,
    /// The pieces given to the pool, in the input's order, with the most each decodes to.
    pending: VecDeque<(Decoded, usize)>,
    /// What the input said when read ahead of the pieces under way, told once they are handed out.
    failed: Option<io::Error>,
    /// The decoded piece being handed out.
    out: Cursor<Vec<u8>>,
    /// The rest of the input as one stream, once the pieces before it are handed out.
    rest: Option<Box<dyn Read + Send>>,
    serial: Option<Serial>,
    max_piece: usize,
}

impl<R: Read + Send + 'static> Parallel<R> {
    fn new(kind: Kind, input: BufReader<R>, threads: usize, serial: Serial, max_piece: usize) -> Self {
        Parallel {
            kind,
            input: Some(input),
            pool: None,
            threads,
            pending: VecDeque::new(),
            failed: None,
            out: Cursor::new(Vec::new()),
            rest: None,
            serial: Some(serial),
            max_piece,
        }
    }

    /// Give pieces to the pool until enough are under way, or the input ends or turns serial. An error reading
    /// ahead is kept for when the pieces before it are handed out.
    fn fill(&mut self) {
        let under_way = |p: &VecDeque<(Decoded, usize)>| p.iter().map(|(_, most)| most).sum::<usize>();
        while self.failed.is_none()
            && self.pending.len() < 2 * self.threads
            && (self.pending.is_empty() || under_way(&self.pending) < IN_FLIGHT)
        {
            let Some(input) = self.input.as_mut() else { return };
            match next_piece(self.kind, input, self.max_piece) {
                Ok(Piece::Apart(raw, most)) => {
                    let (tx, rx) = mpsc::sync_channel(1);
                    if self.pool().send((raw, tx)).is_err() {
                        self.failed = Some(io::Error::other("the decoding threads stopped"));
                        return;
                    }
                    self.pending.push_back((rx, most));
                }
                Ok(Piece::Skipped) => {}
                Ok(Piece::End) => self.input = None,
                Ok(Piece::Serial(read)) => {
                    let input = self.input.take().expect("checked above");
                    let serial = self.serial.take().expect("the input turns serial once");
                    self.rest = Some(serial(Box::new(Cursor::new(read).chain(input))));
                }
                Err(e) => self.failed = Some(e),
            }
        }
    }

    fn pool(&mut self) -> &mpsc::Sender<Job> {
        let (threads, kind) = (self.threads, self.kind);
        self.pool.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..threads {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((raw, reply)) = job else { return };
                        let _ = reply.send(decode(kind, &raw));
                    }
                });
            }
            tx
        })
    }
}

impl<R: Read + Send + 'static> Read for Parallel<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.out.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.fill();
            if let Some((next, _)) = self.pending.pop_front() {
                let decoded = next.recv().map_err(|_| io::Error::other("a decoding thread stopped"))??;
                self.out = Cursor::new(decoded);
                continue;
            }
            if let Some(e) = self.failed.take() {
                self.input = None;
                return Err(e);
            }
            return match self.rest.as_mut() {
                Some(rest) => rest.read(buf),
                None => Ok(0),
            };
        }
    }
}

/// Decode one piece whole. A well-formed piece found by [`next_piece`] decodes to [`MAX_DECODED`] bytes at most (a
/// zstd block to 128 KiB, a BGZF member to 64 KiB); one that goes past it is damaged or made to exhaust memory.
fn decode(kind: Kind, raw: &[u8]) -> io::Result<Vec<u8>> {
    let decoder: Box<dyn Read + '_> = match kind {
        Kind::Zstd => Box::new(ruzstd::decoding::StreamingDecoder::new(raw).map_err(io::Error::other)?),
        Kind::Gzip => Box::new(flate2::read::GzDecoder::new(raw)),
    };
    let mut out = Vec::new();
    decoder.take(MAX_DECODED as u64 + 1).read_to_end(&mut out)?;
    if out.len() > MAX_DECODED {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a frame decodes to more than its blocks can hold"));
    }
    Ok(out)
}

fn cut_short() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends inside a frame")
}

/// Read exactly `n` more bytes of `input` onto `raw`.
fn take(input: &mut impl Read, raw: &mut Vec<u8>, n: usize) -> io::Result<()> {
    let start = raw.len();
    input.take(n as u64).read_to_end(raw)?;
    if raw.len() - start < n { Err(cut_short()) } else { Ok(()) }
}

/// The next piece of `input`.
fn next_piece(kind: Kind, input: &mut impl BufRead, max_piece: usize) -> io::Result<Piece> {
    let head = input.fill_buf()?;
    if head.is_empty() {
        return Ok(Piece::End);
    }
    match kind {
        Kind::Zstd => zstd_piece(input, max_piece),
        Kind::Gzip => gzip_piece(input),
    }
}

/// A gzip member that says its length in a `BC` field of its header (BGZF), read whole; any other is the start
/// of the serial part, with the bytes of its header read so far.
fn gzip_piece(input: &mut impl BufRead) -> io::Result<Piece> {
    // the fixed header and the extra field's length, then the extra field
    let mut raw = Vec::with_capacity(64 << 10);
    input.take(12).read_to_end(&mut raw)?;
    if let Some(xlen) = extra_len(&raw) {
        input.take(xlen as u64).read_to_end(&mut raw)?;
    }
    let Some(len) = bgzf_length(&raw).filter(|&len| len >= raw.len()) else { return Ok(Piece::Serial(raw)) };
    let have = raw.len();
    match take(input, &mut raw, len - have) {
        Ok(()) => Ok(Piece::Apart(raw, BLOCK)),
        // a cut member: the serial decoder says so
        Err(_) => Ok(Piece::Serial(raw)),
    }
}

/// The length of the extra field of the gzip member `head` starts with, if its header has one.
fn extra_len(head: &[u8]) -> Option<usize> {
    const FEXTRA: u8 = 4;
    (head.len() >= 12 && head[..3] == [0x1f, 0x8b, 8] && head[3] & FEXTRA != 0)
        .then(|| u16::from_le_bytes([head[10], head[11]]) as usize)
}

/// The length of the gzip member `head` starts with, from its BGZF `BC` field.
fn bgzf_length(head: &[u8]) -> Option<usize> {
    let xlen = extra_len(head)?;
    let mut extra = head.get(12..12 + xlen)?;
    while extra.len() >= 4 {
        let len = u16::from_le_bytes([extra[2], extra[3]]) as usize;
        if extra[..2] == *b"BC" && len == 2 {
            let bsize = u16::from_le_bytes([*extra.get(4)?, *extra.get(5)?]) as usize;
            return Some(bsize + 1);
        }
        extra = extra.get(4 + len..)?;
    }
    None
}

/// The next zstd frame, read whole by walking its block headers; a skippable frame is skipped; a frame past
/// `max_piece` bytes (or decoding past [`MAX_DECODED`]) is the start of the serial part.
fn zstd_piece(input: &mut impl BufRead, max_piece: usize) -> io::Result<Piece> {
    let mut raw = Vec::new();
    take(input, &mut raw, 4)?;
    let magic = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
        take(input, &mut raw, 4)?;
        let len = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]) as u64;
        if io::copy(&mut input.take(len), &mut io::sink())? < len {
            return Err(cut_short());
        }
        return Ok(Piece::Skipped);
    }
    if magic != ZSTD_MAGIC {
        // not a frame: the serial decoder says what is wrong
        return Ok(Piece::Serial(raw));
    }
    take(input, &mut raw, 1)?;
    let descriptor = raw[4];
    let single_segment = descriptor & 0x20 != 0;
    let dict_id = [0, 1, 2, 4][(descriptor & 3) as usize];
    let content_size = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let checksum = if descriptor & 4 != 0 { 4 } else { 0 };
    take(input, &mut raw, usize::from(!single_segment) + dict_id + content_size)?;
    let mut blocks = 0;
    loop {
        if raw.len() > max_piece || (blocks + 1) * BLOCK > MAX_DECODED {
            return Ok(Piece::Serial(raw));
        }
        take(input, &mut raw, 3)?;
        let at = raw.len() - 3;
        let header = u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], 0]);
        let (last, kind, size) = (header & 1 != 0, (header >> 1) & 3, (header >> 3) as usize);
        // raw and compressed blocks hold `size` bytes; an RLE block holds one byte repeated `size` times
        take(input, &mut raw, if kind == 1 { 1 } else { size })?;
        blocks += 1;
        if last {
            take(input, &mut raw, checksum)?;
            return Ok(Piece::Apart(raw, blocks * BLOCK));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text(lines: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("203.0.113.{} GET /v1/items/{i} 200 {}\n", i % 256, i * 7).into_bytes())
            .collect()
    }

    /// The rest of the input decoded as one stream, as the program does: every gzip member, or every zstd frame
    /// one after another.
    fn serial(kind: Kind) -> Serial {
        let c = match kind {
            Kind::Gzip => crate::source::compressed::Compression::Gzip,
            Kind::Zstd => crate::source::compressed::Compression::Zstd,
        };
        Box::new(move |rest| c.decoder(rest))
    }

    fn zstd(d: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(d, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// A BGZF member: a gzip member with a `BC` field giving its length less one.
    fn bgzf(d: &[u8]) -> Vec<u8> {
        let body = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        };
        let len = 12 + 6 + body.len() + 8;
        let mut m = vec![0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0];
        m.extend_from_slice(&((len - 1) as u16).to_le_bytes());
        m.extend_from_slice(&body);
        let mut crc = flate2::Crc::new();
        crc.update(d);
        m.extend_from_slice(&crc.sum().to_le_bytes());
        m.extend_from_slice(&(d.len() as u32).to_le_bytes());
        m
    }

    /// The file decoded, and whether part of it was decoded serially.
    fn read(kind: Kind, data: Vec<u8>, threads: usize, max_piece: usize) -> io::Result<(Vec<u8>, bool)> {
        let input = BufReader::with_capacity(256 << 10, Cursor::new(data));
        let mut r = Parallel::new(kind, input, threads, serial(kind), max_piece);
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((out, r.rest.is_some()))
    }

    #[test]
    fn zstd_frames_decode_apart_in_order() {
        let t = text(60_000);
        let parts: Vec<&[u8]> = t.chunks(150_001).collect();
        let skip = [&0x184D_2A50u32.to_le_bytes()[..], &3u32.to_le_bytes(), b"abc"].concat();
        let mut file = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            file.extend(zstd(p));
            if i == 2 {
                file.extend(&skip);
            }
        }
        for threads in [2, 3, 8] {
            assert!(read(Kind::Zstd, file.clone(), threads, MAX_PIECE).unwrap() == (t.clone(), false), "{threads}");
        }
    }

    #[test]
    fn a_frame_too_big_to_hold_turns_the_rest_serial_and_nothing_is_lost() {
        let t = text(60_000);
        let (a, b) = t.split_at(700_000);
        let file = [zstd(a), zstd(b), zstd(a)].concat();
        let whole = [a, b, a].concat();
        // the second frame is past the limit: the first is decoded apart, the rest as one stream
        let limit = zstd(a).len() + 1;
        assert!(zstd(b).len() > limit);
        assert!(read(Kind::Zstd, file, 2, limit).unwrap() == (whole, true));
    }

    #[test]
    fn bgzf_members_decode_apart_and_ordinary_members_after_them_serially() {
        let t = text(60_000);
        let parts: Vec<&[u8]> = t.chunks(60_000).collect();
        let mut file: Vec<u8> = parts[..parts.len() - 1].iter().flat_map(|p| bgzf(p)).collect();
        let whole = t[..t.len() - parts[parts.len() - 1].len()].to_vec();
        assert!(read(Kind::Gzip, file.clone(), 3, MAX_PIECE).unwrap() == (whole, false));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(parts[parts.len() - 1]).unwrap();
        file.extend(e.finish().unwrap());
        assert_eq!(bgzf_length(&bgzf(b"x")), Some(bgzf(b"x").len()));
        assert!(read(Kind::Gzip, file, 2, MAX_PIECE).unwrap() == (t, true));
    }

    #[test]
    fn a_frame_whose_blocks_claim_more_than_a_block_holds_is_an_error_not_an_allocation() {
        // a frame of 40 RLE blocks each claiming 2 MiB (the most a block header can say; a block holds 128 KiB):
        // 80 MiB from 150 bytes
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70];
        for i in 0..40u32 {
            let header = (((1u32 << 21) - 1) << 3) | (1 << 1) | u32::from(i == 39);
            frame.extend_from_slice(&header.to_le_bytes()[..3]);
            frame.push(b'x');
        }
        assert!(matches!(zstd_piece(&mut &frame[..], MAX_PIECE).unwrap(), Piece::Apart(..)));
        let got = read(Kind::Zstd, frame, 2, MAX_PIECE);
        assert!(got.is_err(), "{:?}", got.map(|(out, _)| out.len()));
    }

    /// A zstd frame of `blocks` raw blocks of 128 KiB of `text`, and what it decodes to.
    fn raw_blocks_frame(blocks: usize) -> (Vec<u8>, Vec<u8>) {
        let t = text(4_000);
        let block = &t[..BLOCK];
        // no content size, no checksum; a window of 128 KiB
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
        for i in 0..blocks {
            let header = ((BLOCK as u32) << 3) | u32::from(i + 1 == blocks);
            frame.extend_from_slice(&header.to_le_bytes()[..3]);
            frame.extend_from_slice(block);
        }
        (frame, block.repeat(blocks))
    }

    #[test]
    fn a_frame_of_as_many_blocks_as_a_piece_may_hold_is_decoded_apart_and_one_more_turns_serial() {
        let most = MAX_DECODED / BLOCK;
        let (frame, whole) = raw_blocks_frame(most);
        assert!(read(Kind::Zstd, frame, 2, MAX_PIECE * 4).unwrap() == (whole, false));
        let (frame, whole) = raw_blocks_frame(most + 1);
        assert!(read(Kind::Zstd, frame, 2, MAX_PIECE * 4).unwrap() == (whole, true));
    }

    #[test]
    fn a_bgzf_header_split_across_reads_is_still_found() {
        let member = bgzf(&text(2_000));
        let mut input = BufReader::with_capacity(5, Cursor::new(member.clone()));
        assert!(matches!(gzip_piece(&mut input).unwrap(), Piece::Apart(raw, _) if raw == member));
    }

    #[test]
    fn an_error_ahead_is_told_after_the_pieces_before_it() {
        let t = text(60_000);
        let parts: Vec<&[u8]> = t.chunks(100_000).collect();
        let mut file: Vec<u8> = parts[..5].iter().flat_map(|p| zstd(p)).collect();
        let fifth = file.len() - zstd(parts[4]).len();
        file.truncate(fifth + 40);
        let input = BufReader::with_capacity(256 << 10, Cursor::new(file));
        let mut r = Parallel::new(Kind::Zstd, input, 8, serial(Kind::Zstd), MAX_PIECE);
        let (mut got, mut buf) = (Vec::new(), vec![0u8; 65_536]);
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("a cut file ends in an error"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        assert!(got == parts[..4].concat(), "the four whole frames first: {} bytes", got.len());
        assert!(err.to_string().contains("ends inside a frame"), "{err}");
    }

    #[test]
    fn a_cut_or_damaged_piece_is_an_error() {
        let t = text(20_000);
        let mut z = [zstd(&t[..200_000]), zstd(&t[200_000..])].concat();
        z.truncate(z.len() - 100);
        assert!(read(Kind::Zstd, z, 2, MAX_PIECE).is_err());
        let mut z = [zstd(&t[..200_000]), zstd(&t[200_000..])].concat();
        let mid = z.len() / 4;
        z[mid..mid + 64].fill(0xAA);
        assert!(read(Kind::Zstd, z, 2, MAX_PIECE).is_err());
        let mut g = [bgzf(&t[..60_000]), bgzf(&t[60_000..120_000])].concat();
        let mid = g.len() / 4;
        g[mid..mid + 64].fill(0xAA);
        assert!(read(Kind::Gzip, g, 2, MAX_PIECE).is_err());
    }
}
