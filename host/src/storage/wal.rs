//! The write-ahead log in front of sled: records are appended and
//! `fdatasync`ed in groups before anything is acknowledged, and replayed at
//! start. sled's own flush uses `sync_file_range`, which does not survive a
//! power loss, so durability rests on this log.
//!
//! Record: `len: u32 LE | crc32(seq ‖ payload): u32 LE | seq: u64 LE | payload`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Largest record accepted when reading; anything larger is a torn or corrupt tail.
const MAX_RECORD: usize = 64 << 20;

/// A logged record: its sequence number and payload.
pub type Record = (u64, Vec<u8>);

/// An append-only log file.
pub struct Wal {
    file: File,
    len: u64,
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl Wal {
    /// Opens (or creates) the log and returns it with every intact record in
    /// order. A torn or corrupt tail (a crash mid-append) is cut off.
    pub fn open(path: &Path) -> io::Result<(Wal, Vec<Record>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut records = Vec::new();
        let mut good = 0u64;
        {
            let mut reader = BufReader::new(&mut file);
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
                if len > MAX_RECORD {
                    break;
                }
                let mut payload = vec![0u8; len];
                if reader.read_exact(&mut payload).is_err() || checksum(seq, &payload) != crc {
                    break;
                }
                good += 16 + len as u64;
                records.push((seq, payload));
            }
        }
        let total = file.metadata()?.len();
        if total != good {
            tracing::warn!(path = %path.display(), kept = good, dropped = total - good, "cutting a torn tail off the write-ahead log");
            file.set_len(good)?;
            file.sync_data()?;
        }
        Ok((Wal { file, len: good }, records))
    }

    /// Appends records (not yet durable: call [`Wal::sync`]).
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(16 + payload.len());
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&checksum(seq, payload).to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(payload);
        self.file.write_all(&buf)?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Bytes in the log.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Empties the log, once its records are durable elsewhere.
    pub fn truncate(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.sync_data()?;
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let dir = std::env::temp_dir().join(format!("faultline-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal");
        let _ = std::fs::remove_file(&path);
        {
            let (mut wal, records) = Wal::open(&path).unwrap();
            assert!(records.is_empty());
            wal.append(1, b"one").unwrap();
            wal.append(2, b"two").unwrap();
            wal.sync().unwrap();
        }
        // A crash in the middle of the third append.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut wal, records) = Wal::open(&path).unwrap();
        assert_eq!(records, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        wal.append(3, b"three").unwrap();
        wal.sync().unwrap();
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(records.len(), 3);
        // A flipped bit ends the log there.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[16 + 3 + 16 + 1] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = Wal::open(&path).unwrap();
        assert_eq!(records.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
