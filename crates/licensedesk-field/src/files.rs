//! The one place that reads a path from the OS (size-capped) and the one
//! place that writes a file (temp + fsync + rename + directory fsync).

use std::io::{Read as _, Write as _};
use std::path::Path;

use licensedesk_core::offline::{MAX_REQUEST_LEN, OfflineRequest, parse_request};

use crate::{Error, Result};

/// Reads at most `max` bytes of `path`; a larger file is refused before it
/// is read further.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, &e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, &e))?;
    let len = bytes.len() as u64;
    if len > max {
        return Err(Error::FileTooLarge {
            path: path.display().to_string(),
            len,
            max,
        });
    }
    Ok(bytes)
}

/// Reads and parses an activation request file (`ldctl request` output).
pub fn read_request_file(path: &Path) -> Result<OfflineRequest> {
    let bytes = read_capped(path, MAX_REQUEST_LEN as u64)?;
    Ok(parse_request(&bytes)?)
}

/// Writes `bytes` to `path` atomically: a flushed temporary file in the same
/// directory, renamed over `path`, then the directory flushed. A crash leaves
/// either the old file or the new one, never a torn one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write", &tmp, &e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, &e))?;
    sync_dir(dir)
}

/// Flushes a directory entry (the rename) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush", dir, &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
