//! The write-ahead log in front of sled: records are appended and
//! `fdatasync`ed in groups before anything is acknowledged, and replayed at
//! start. sled's own flush uses `sync_file_range`, which does not survive a
//! power loss, so durability rests on this log.
//!
//! Record: `len: u32 LE | crc32(seq ‖ payload): u32 LE | seq: u64 LE | payload`.
//!
//! The file is written in place, not appended to: it grows ahead of the
//! records in zero-filled steps, and after a checkpoint the next records
//! overwrite it from the start. A sync then has only data to write — no size
//! or block-allocation change — so it does not wait for a filesystem journal
//! commit (which would also carry every other file's pending metadata, sled's
//! included). Reading stops at the first record whose checksum fails or whose
//! sequence number does not exceed the one before: zeros, a torn append, or
//! records of an earlier round left past the end.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Largest record accepted when reading; anything larger is a torn or corrupt tail.
const MAX_RECORD: usize = 64 << 20;
/// The file grows by zero-filled steps of this size.
const GROW: u64 = 1 << 20;

/// A logged record: its sequence number and payload.
pub type Record = (u64, Vec<u8>);

/// The log file.
pub struct Wal {
    file: File,
    /// End of the records written (and of those being buffered).
    len: u64,
    /// Bytes of file, zero-filled past `len`.
    capacity: u64,
    /// Records appended since the last sync.
    pending: Vec<u8>,
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl Wal {
    /// Opens (or creates) the log and returns it with every intact record in
    /// order. Whatever follows them — a torn append, records of an earlier
    /// round, zero fill — is cut off, so it can never be read as a record.
    pub fn open(path: &Path) -> io::Result<(Wal, Vec<Record>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut records = Vec::new();
        let mut good = 0u64;
        let mut clean_end = true;
        {
            let mut reader = BufReader::new(&mut file);
            reader.seek(SeekFrom::Start(0))?;
            let mut header = [0u8; 16];
            let mut last = 0u64;
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
                if len > MAX_RECORD || seq <= last {
                    break;
                }
                let mut payload = vec![0u8; len];
                if reader.read_exact(&mut payload).is_err() || checksum(seq, &payload) != crc {
                    break;
                }
                clean_end = true;
                good += 16 + len as u64;
                last = seq;
                records.push((seq, payload));
            }
        }
        let total = file.metadata()?.len();
        if total != good {
            if !clean_end {
                tracing::info!(path = %path.display(), kept = good, dropped = total - good, "write-ahead log: dropping the bytes after the last intact record (a write cut off by a crash, or older records already applied)");
            }
            file.set_len(good)?;
            file.sync_data()?;
        }
        let wal = Wal {
            file,
            len: good,
            capacity: good,
            pending: Vec::new(),
        };
        Ok((wal, records))
    }

    /// Appends a record (not yet written nor durable: call [`Wal::sync`]).
    pub fn append(&mut self, seq: u64, payload: &[u8]) {
        self.pending
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.pending
            .extend_from_slice(&checksum(seq, payload).to_le_bytes());
        self.pending.extend_from_slice(&seq.to_le_bytes());
        self.pending.extend_from_slice(payload);
    }

    /// Writes the records appended so far and makes them durable.
    pub fn sync(&mut self) -> io::Result<()> {
        let end = self.len + self.pending.len() as u64;
        if end > self.capacity {
            // Zero-fill ahead so that the following syncs change no metadata.
            let target = end.div_ceil(GROW) * GROW + GROW;
            let zeros = vec![0u8; GROW as usize];
            let mut at = self.capacity;
            while at < target {
                let n = (target - at).min(GROW);
                self.file.write_all_at(&zeros[..n as usize], at)?;
                at += n;
            }
            self.capacity = target;
        }
        self.file.write_all_at(&self.pending, self.len)?;
        self.len = end;
        self.pending.clear();
        self.file.sync_data()
    }

    /// Bytes of records in the log.
    pub fn size(&self) -> u64 {
        self.len + self.pending.len() as u64
    }

    /// Starts the log over from the beginning of the file, once its records
    /// are durable elsewhere. Their bytes stay until overwritten; every one
    /// has a lower sequence number than any record written after this, so
    /// reading stops at them.
    pub fn truncate(&mut self) -> io::Result<()> {
        debug_assert!(self.pending.is_empty(), "truncating unsynced records");
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("faultline-wal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("wal")
    }

    /// Appends same-size records with these sequence numbers and syncs them.
    fn write(wal: &mut Wal, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            wal.append(seq, b"same size");
        }
        wal.sync().unwrap();
    }

    fn seqs(records: &[Record]) -> Vec<u64> {
        records.iter().map(|r| r.0).collect()
    }

    #[test]
    fn round_trip_and_torn_tail() {
        let path = scratch("torn");
        {
            let (mut wal, records) = Wal::open(&path).unwrap();
            assert!(records.is_empty());
            wal.append(1, b"one");
            wal.append(2, b"two");
            wal.sync().unwrap();
            assert!(
                std::fs::metadata(&path).unwrap().len() >= GROW,
                "the file is zero-filled ahead"
            );
        }
        // The zero fill is not read as records.
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(records, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        // A crash in the middle of the third append.
        let end = 2 * 16 + 6;
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[9, 0, 0, 0, 1, 2], end).unwrap();
        drop(f);
        let (mut wal, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [1, 2]);
        wal.append(3, b"three");
        wal.sync().unwrap();
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [1, 2, 3]);
        // A flipped bit ends the log there.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[16 + 3 + 16 + 1] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [1]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn after_a_truncate_older_records_past_the_end_are_not_read() {
        let path = scratch("rewind");
        let (mut wal, _) = Wal::open(&path).unwrap();
        write(&mut wal, 1..=5);
        wal.truncate().unwrap();
        assert_eq!(wal.size(), 0);
        // Records of the same size: record 6 ends exactly where old record 2 begins.
        write(&mut wal, [6]);
        drop(wal);
        let (mut wal, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [6], "old records 2..5 follow but are older");
        // What followed the intact records was cut off at open: appending
        // after it leaves nothing stale to be read past the new end.
        write(&mut wal, [7]);
        drop(wal);
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [6, 7]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_torn_record_hides_the_intact_ones_after_it_for_good() {
        // Records 1..3 written, the crash lost record 2's bytes but not 3's.
        let path = scratch("hole");
        let (mut wal, _) = Wal::open(&path).unwrap();
        write(&mut wal, 1..=3);
        drop(wal);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[0xff; 4], 16 + 9 + 4).unwrap();
        drop(f);
        let (mut wal, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [1]);
        // Numbering goes on from the last intact record; a new record of the
        // same size must not make the old record 3 readable again.
        write(&mut wal, [2]);
        drop(wal);
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(seqs(&records), [1, 2]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
