//! The write-ahead log, which is also where stored events' documents live.
//!
//! The log is a directory of numbered segments. Records are appended to the
//! newest segment and `fdatasync`ed in groups before anything is
//! acknowledged; sled then gets, for each stored event, where its document is
//! in the log ([`Location`]: segment, offset, length) rather than the
//! document itself, so a document is written to disk once and never copied
//! again by sled's node rewrites. sled's own flush uses `sync_file_range`,
//! which does not survive a power loss, so durability rests on this log: at
//! a checkpoint sled is flushed and fsynced and the log moves on to a new
//! segment, and at start only the segments from the one recorded at the last
//! checkpoint are replayed. Older segments stay as long as a stored event's
//! document is in them; the retention sweep deletes them.
//!
//! Record: `len: u32 LE | crc32(seq ‖ payload): u32 LE | seq: u64 LE | payload`.
//!
//! Records are appended and a sync extends the file. (Zero-filling segments
//! ahead, so that a sync changes no file size or block allocation, was
//! measured worse here: writing zeros into fresh page-cache pages cost more
//! than the records, and syncing them held up the log's own syncs.) Reading
//! stops at the first record whose checksum fails or whose sequence number
//! does not exceed the one before: a torn append, zeros, or (in a log from
//! before segments, which was rewound in place) records of an earlier round
//! left past the end.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Largest record accepted when reading; anything larger is a torn or corrupt tail.
const MAX_RECORD: usize = 64 << 20;
/// Segment files kept open for reading documents.
const OPEN_SEGMENTS: usize = 64;

/// A logged record: its sequence number and payload.
pub type Record = (u64, Vec<u8>);

/// A record read back at start, with where its payload is.
#[derive(Debug)]
pub struct Replayed {
    /// Sequence number.
    pub seq: u64,
    /// The payload.
    pub payload: Vec<u8>,
    /// Segment it is in.
    pub segment: u64,
    /// Offset of the payload in the segment.
    pub offset: u64,
}

/// Where a document is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Segment number.
    pub segment: u64,
    /// Offset in the segment.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
}

/// First byte of an encoded [`Location`]; a JSON document (what sled held
/// inline before documents moved to the log) never starts with it.
const LOCATION_TAG: u8 = 0;

impl Location {
    /// Its form as a sled value.
    pub fn encode(&self) -> [u8; 21] {
        let mut out = [0u8; 21];
        out[0] = LOCATION_TAG;
        out[1..9].copy_from_slice(&self.segment.to_be_bytes());
        out[9..17].copy_from_slice(&self.offset.to_be_bytes());
        out[17..21].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    /// A sled value read as a location; `None` for an inline document.
    pub fn decode(value: &[u8]) -> Option<Location> {
        if value.len() != 21 || value[0] != LOCATION_TAG {
            return None;
        }
        Some(Location {
            segment: u64::from_be_bytes(value[1..9].try_into().ok()?),
            offset: u64::from_be_bytes(value[9..17].try_into().ok()?),
            len: u32::from_be_bytes(value[17..21].try_into().ok()?),
        })
    }
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends a record to `out`.
pub fn encode(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// What reading one file of the log found.
struct Scan {
    /// The intact records, in order.
    records: Vec<Replayed>,
    /// End of the last one.
    good: u64,
    /// Whether only zeros or nothing follow them.
    clean_end: bool,
}

/// Reads the intact records of one file (segment `segment`). `last` is the
/// sequence number they must exceed; it is moved on to the last one read.
fn read_records(file: &mut File, segment: u64, last: &mut u64) -> io::Result<Scan> {
    let mut records = Vec::new();
    let mut good = 0u64;
    let mut clean_end = true;
    let mut reader = BufReader::new(file);
    reader.seek(SeekFrom::Start(0))?;
    let mut header = [0u8; 16];
    loop {
        match reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(header[0..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(header[4..8].try_into().unwrap());
        let seq = u64::from_le_bytes(header[8..16].try_into().unwrap());
        if header == [0; 16] {
            break;
        }
        clean_end = false;
        if len > MAX_RECORD || seq <= *last {
            break;
        }
        let mut payload = vec![0u8; len];
        if reader.read_exact(&mut payload).is_err() || checksum(seq, &payload) != crc {
            break;
        }
        clean_end = true;
        records.push(Replayed {
            seq,
            payload,
            segment,
            offset: good + 16,
        });
        good += 16 + len as u64;
        *last = seq;
    }
    Ok(Scan {
        records,
        good,
        clean_end,
    })
}

/// Cuts a file after its intact records so that what followed them can never
/// be read as a record.
fn cut(file: &File, path: &Path, good: u64, clean_end: bool) -> io::Result<()> {
    let total = file.metadata()?.len();
    if total != good {
        if !clean_end {
            tracing::info!(path = %path.display(), kept = good, dropped = total - good, "write-ahead log: dropping the bytes after the last intact record (a write cut off by a crash)");
        }
        file.set_len(good)?;
        file.sync_data()?;
    }
    Ok(())
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Reads the records of a log from before segments (one file, rewound in
/// place at each checkpoint).
pub fn read_legacy(path: &Path) -> io::Result<Vec<Record>> {
    let mut file = File::open(path)?;
    let scan = read_records(&mut file, 0, &mut 0)?;
    Ok(scan
        .records
        .into_iter()
        .map(|r| (r.seq, r.payload))
        .collect())
}

/// The log, open for appending to its newest segment.
pub struct Log {
    dir: PathBuf,
    segment: u64,
    file: File,
    /// End of the records written (and of those being buffered).
    len: u64,
    /// Records appended since the last sync.
    pending: Vec<u8>,
}

/// Path of a segment.
pub fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:016x}"))
}

/// The segments in a log directory, in order.
pub fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .filter(|n| n.len() == 16)
            .and_then(|n| u64::from_str_radix(n, 16).ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Log {
    /// Opens (or creates) the log in `dir` and returns it with every intact
    /// record of segment `from` and after, in order. Whatever follows the
    /// records of the newest segment (a torn append) is cut off, so it can
    /// never be read as a record.
    pub fn open(dir: &Path, from: u64) -> io::Result<(Log, Vec<Replayed>)> {
        std::fs::create_dir_all(dir)?;
        let from = from.max(1);
        let existing: Vec<u64> = segments(dir)?.into_iter().filter(|&s| s >= from).collect();
        let newest = existing.last().copied().unwrap_or(from);
        let mut replayed = Vec::new();
        let mut last = 0u64;
        let mut end = (0, true);
        for &segment in &existing {
            let path = segment_path(dir, segment);
            let mut file = File::open(&path)?;
            let scan = read_records(&mut file, segment, &mut last)?;
            replayed.extend(scan.records);
            end = (scan.good, scan.clean_end);
        }
        let path = segment_path(dir, newest);
        let file = open_rw(&path)?;
        if existing.is_empty() {
            sync_dir(dir)?;
        }
        cut(&file, &path, end.0, end.1)?;
        let log = Log {
            dir: dir.to_path_buf(),
            segment: newest,
            file,
            len: end.0,
            pending: Vec::new(),
        };
        Ok((log, replayed))
    }

    /// Appends a record (not yet written nor durable: call [`Log::sync`]).
    /// Returns where its payload will be in the current segment.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> u64 {
        let at = self.size() + 16;
        encode(&mut self.pending, seq, payload);
        at
    }

    /// Writes the records appended so far and makes them durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.write_all_at(&self.pending, self.len)?;
        self.len += self.pending.len() as u64;
        self.pending.clear();
        self.file.sync_data()
    }

    /// Bytes of records in the current segment.
    pub fn size(&self) -> u64 {
        self.len + self.pending.len() as u64
    }

    /// The segment records are appended to.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves on to a new segment, once the current one's records are applied
    /// and durable elsewhere (its documents stay where they are).
    pub fn roll(&mut self) -> io::Result<()> {
        debug_assert!(self.pending.is_empty(), "rolling over unsynced records");
        let next = self.segment + 1;
        self.file = open_rw(&segment_path(&self.dir, next))?;
        sync_dir(&self.dir)?;
        self.segment = next;
        self.len = 0;
        Ok(())
    }
}

/// Reads documents out of the log's segments, keeping some files open.
pub struct Documents {
    dir: PathBuf,
    open: Mutex<HashMap<u64, Arc<File>>>,
}

impl Documents {
    /// Reads documents from the log in `dir`.
    pub fn new(dir: &Path) -> Documents {
        Documents {
            dir: dir.to_path_buf(),
            open: Mutex::default(),
        }
    }

    /// The document at `at`; `None` when its segment is gone (deleted by
    /// retention together with every event in it).
    pub fn read(&self, at: Location) -> io::Result<Option<Vec<u8>>> {
        let cached = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&at.segment)
            .cloned();
        let file = match cached {
            Some(file) => file,
            None => {
                let file = match File::open(segment_path(&self.dir, at.segment)) {
                    Ok(f) => Arc::new(f),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
                if open.len() >= OPEN_SEGMENTS {
                    open.clear();
                }
                open.insert(at.segment, file.clone());
                file
            }
        };
        let mut buf = vec![0u8; at.len as usize];
        file.read_exact_at(&mut buf, at.offset)?;
        Ok(Some(buf))
    }

    /// Deletes a segment (every document in it is gone from sled).
    pub fn delete(&self, segment: u64) -> io::Result<()> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&segment);
        match std::fs::remove_file(segment_path(&self.dir, segment)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("faultline-wal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Appends same-size records with these sequence numbers and syncs them.
    fn write(log: &mut Log, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            log.append(seq, b"same size");
        }
        log.sync().unwrap();
    }

    fn seqs(records: &[Replayed]) -> Vec<u64> {
        records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn round_trip_and_torn_tail() {
        let dir = scratch("torn");
        let path = segment_path(&dir, 1);
        {
            let (mut log, records) = Log::open(&dir, 0).unwrap();
            assert!(records.is_empty());
            assert_eq!(log.append(1, b"one"), 16);
            assert_eq!(log.append(2, b"two"), 16 + 3 + 16);
            log.sync().unwrap();
        }
        // Payloads are where append said.
        let (_, records) = Log::open(&dir, 1).unwrap();
        let read: Vec<_> = records
            .iter()
            .map(|r| (r.seq, r.payload.as_slice(), r.segment, r.offset))
            .collect();
        assert_eq!(
            read,
            [(1, &b"one"[..], 1, 16), (2, &b"two"[..], 1, 16 + 3 + 16)]
        );
        // A crash in the middle of the third append.
        let end = 2 * 16 + 6;
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[9, 0, 0, 0, 1, 2], end).unwrap();
        drop(f);
        let (mut log, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1, 2]);
        write(&mut log, [3]);
        let (_, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1, 2, 3]);
        // A flipped bit ends the log there.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[16 + 3 + 16 + 1] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn segments_before_the_replay_point_are_kept_but_not_replayed() {
        let dir = scratch("roll");
        let (mut log, _) = Log::open(&dir, 0).unwrap();
        write(&mut log, 1..=3);
        log.roll().unwrap();
        assert_eq!(log.segment(), 2);
        assert_eq!(
            std::fs::metadata(segment_path(&dir, 1)).unwrap().len(),
            3 * (16 + 9)
        );
        let at = log.append(4, b"four");
        log.sync().unwrap();
        write(&mut log, [5]);
        log.roll().unwrap();
        write(&mut log, [6]);
        drop(log);
        assert_eq!(segments(&dir).unwrap(), [1, 2, 3]);
        let (_, records) = Log::open(&dir, 2).unwrap();
        assert_eq!(seqs(&records), [4, 5, 6]);
        assert_eq!((records[0].segment, records[0].offset), (2, at));
        let (mut log, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1, 2, 3, 4, 5, 6]);
        assert_eq!(log.segment(), 3, "appends go on in the newest segment");
        write(&mut log, [7]);
        // Documents are read where they were appended; a deleted segment reads as gone.
        let docs = Documents::new(&dir);
        let four = Location {
            segment: 2,
            offset: at,
            len: 4,
        };
        assert_eq!(docs.read(four).unwrap().as_deref(), Some(&b"four"[..]));
        docs.delete(2).unwrap();
        assert_eq!(docs.read(four).unwrap(), None);
        assert_eq!(segments(&dir).unwrap(), [1, 3]);
        assert_eq!(Location::decode(&four.encode()), Some(four));
        assert_eq!(Location::decode(br#"{"event_id":"e1"}"#), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_from_before_segments_is_read_up_to_its_rewind_point() {
        // The old single-file log was rewound in place: records of an
        // earlier round past the newest ones have lower sequence numbers.
        let dir = scratch("legacy");
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = Vec::new();
        for (seq, payload) in [(6u64, &b"six"[..]), (2, b"two"), (3, b"three")] {
            encode(&mut bytes, seq, payload);
        }
        let path = dir.join("wal");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_legacy(&path).unwrap(), [(6, b"six".to_vec())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_record_hides_the_intact_ones_after_it_for_good() {
        // Records 1..3 written, the crash lost record 2's bytes but not 3's.
        let dir = scratch("hole");
        let (mut log, _) = Log::open(&dir, 1).unwrap();
        write(&mut log, 1..=3);
        drop(log);
        let f = OpenOptions::new()
            .write(true)
            .open(segment_path(&dir, 1))
            .unwrap();
        f.write_all_at(&[0xff; 4], 16 + 9 + 4).unwrap();
        drop(f);
        let (mut log, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1]);
        // Numbering goes on from the last intact record; a new record of the
        // same size must not make the old record 3 readable again.
        write(&mut log, [2]);
        drop(log);
        let (_, records) = Log::open(&dir, 1).unwrap();
        assert_eq!(seqs(&records), [1, 2]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
