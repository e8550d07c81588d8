//! A slow disk for tests: a FUSE file system (mounted here, in this process) that serves one file, `access.log`,
//! from a real file, waiting before each read as a congested or networked disk makes a reader wait. Reads bypass
//! the page cache (direct I/O), so every read the console makes pays the wait.

use std::ffi::OsStr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, Request};

/// The name of the one file.
pub const NAME: &str = "access.log";

const ROOT: u64 = 1;
const FILE: u64 = 2;
const TTL: Duration = Duration::from_secs(1);

struct SlowFs {
    backing: PathBuf,
    wait: Duration,
}

impl SlowFs {
    fn attr(&self, ino: u64) -> FileAttr {
        let (kind, size, perm) = match ino {
            ROOT => (FileType::Directory, 0, 0o555),
            _ => (FileType::RegularFile, std::fs::metadata(&self.backing).map_or(0, |m| m.len()), 0o444),
        };
        FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: UNIX_EPOCH,
            mtime: UNIX_EPOCH,
            ctime: UNIX_EPOCH,
            crtime: UNIX_EPOCH,
            kind,
            perm,
            nlink: if ino == ROOT { 2 } else { 1 },
            uid: 0,
            gid: 0,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        }
    }
}

impl Filesystem for SlowFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        match (parent, name.to_str()) {
            (ROOT, Some(NAME)) => reply.entry(&TTL, &self.attr(FILE), 0),
            _ => reply.error(libc::ENOENT),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match ino {
            ROOT | FILE => reply.attr(&TTL, &self.attr(ino)),
            _ => reply.error(libc::ENOENT),
        }
    }

    fn open(&mut self, _req: &Request<'_>, _ino: u64, _flags: i32, reply: fuser::ReplyOpen) {
        reply.opened(0, fuser::consts::FOPEN_DIRECT_IO);
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock: Option<u64>,
        reply: ReplyData,
    ) {
        if ino != FILE {
            return reply.error(libc::ENOENT);
        }
        std::thread::sleep(self.wait);
        let Ok(file) = std::fs::File::open(&self.backing) else { return reply.error(libc::EIO) };
        let mut buf = vec![0; size as usize];
        let mut n = 0;
        while n < buf.len() {
            match file.read_at(&mut buf[n..], offset as u64 + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(_) => return reply.error(libc::EIO),
            }
        }
        reply.data(&buf[..n]);
    }

    fn readdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, offset: i64, mut reply: ReplyDirectory) {
        if ino != ROOT {
            return reply.error(libc::ENOENT);
        }
        let entries =
            [(ROOT, FileType::Directory, "."), (ROOT, FileType::Directory, ".."), (FILE, FileType::RegularFile, NAME)];
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, (i + 1) as i64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// `backing` served as `<mountpoint>/access.log`, every read waiting `wait` first; unmounted when dropped.
pub fn mount(backing: &Path, mountpoint: &Path, wait: Duration) -> fuser::BackgroundSession {
    std::fs::create_dir_all(mountpoint).unwrap();
    let fs = SlowFs { backing: backing.to_path_buf(), wait };
    let options = [MountOption::RO, MountOption::FSName("gatewatch-slow".into())];
    fuser::spawn_mount2(fs, mountpoint, &options).expect("mount a FUSE file system (needs /dev/fuse and root)")
}
