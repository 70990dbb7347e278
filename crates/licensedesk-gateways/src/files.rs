//! Files: the ONE place where a path that came from the OS (a native dialog
//! or a drop on the window) is read, with a size cap checked before a single
//! byte is parsed; and the durable, atomic writes of the registry's own data.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads a file a user picked or dropped. The size is checked before
/// reading, and the read itself is bounded (the file may grow meanwhile).
pub fn read_os_file(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let shown = || path.display().to_string();
    let file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::FileNotFound { path: shown() },
        _ => Error::FileUnreadable {
            path: shown(),
            detail: e.to_string(),
        },
    })?;
    let meta = file.metadata().map_err(|e| Error::FileUnreadable {
        path: shown(),
        detail: e.to_string(),
    })?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: shown() });
    }
    let too_large = || Error::FileTooLarge { path: shown(), cap };
    if meta.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::FileUnreadable {
            path: shown(),
            detail: e.to_string(),
        })?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The size of a file a user picked or dropped (a firmware image: only its
/// size matters, its bytes are never read).
pub fn file_size(path: &Path) -> Result<u64> {
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::FileNotFound { path: shown() },
        _ => Error::FileUnreadable {
            path: shown(),
            detail: e.to_string(),
        },
    })?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: shown() });
    }
    Ok(meta.len())
}

/// Exactly one path out of what was dropped or picked.
pub fn single_path<P: AsRef<Path>>(paths: &[P]) -> Result<&Path> {
    match paths {
        [] => Err(Error::NoFile),
        [one] => Ok(one.as_ref()),
        more => Err(Error::TooManyFiles { count: more.len() }),
    }
}

/// Writes `bytes` to `path` through a flushed temporary file in the same
/// folder and a rename, so a reader sees the old or the new content, never
/// a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::storage(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    write_durably(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| Error::storage(path, e))?;
    if let Ok(d) = File::open(dir) {
        // Best effort: flush the rename itself.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` and flushes them to disk before returning.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::storage(path, e))?;
    file.write_all(bytes).map_err(|e| Error::storage(path, e))?;
    file.sync_all().map_err(|e| Error::storage(path, e))
}

/// Reads one of the registry's own files (capped; absent → `None`).
pub(crate) fn read_own(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    match read_os_file(path, cap) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::FileNotFound { .. }) => Ok(None),
        Err(e) => Err(Error::storage(path, e)),
    }
}

/// What a file dropped on the window (or picked) is, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A license file (`-----BEGIN LICENSEDESK LICENSE-----`).
    License,
    /// An offline activation request (`ldctl request`).
    Request,
    /// An offline activation response bundle (`.ldresp`).
    Response,
    /// A gateway's usage file (`ldctl usage export`).
    Usage,
}

/// The largest file of any kind [`kind_of`] knows.
pub const MAX_DROPPED_LEN: u64 = 1024 * 1024;

/// The kind of a file's `bytes`, or [`Error::FileKindUnknown`]. Only what
/// decides the kind is looked at; each kind's own parser checks the rest.
pub fn kind_of(path: &Path, bytes: &[u8]) -> Result<FileKind> {
    let text = bytes.trim_ascii_start();
    if text.starts_with(b"-----BEGIN LICENSEDESK LICENSE-----") {
        return Ok(FileKind::License);
    }
    if text.starts_with(b"{")
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(text)
    {
        if v.get("format").and_then(|f| f.as_str())
            == Some(licensedesk_core::gateway::usage::FORMAT)
        {
            return Ok(FileKind::Usage);
        }
        if licensedesk_core::offline::parse_request(text).is_ok() {
            return Ok(FileKind::Request);
        }
        if v.get("sig").is_some() && v.get("payload").is_some() {
            return Ok(FileKind::Response);
        }
    }
    Err(Error::FileKindUnknown {
        path: path.display().to_string(),
    })
}

/// Reads every path (capped) and tells their one kind; files of several
/// kinds at once are refused ([`Error::FileKindsMixed`]).
pub fn read_dropped(paths: &[std::path::PathBuf]) -> Result<(FileKind, Vec<Vec<u8>>)> {
    if paths.is_empty() {
        return Err(Error::NoFile);
    }
    let mut kind = None;
    let mut all = Vec::with_capacity(paths.len());
    for p in paths {
        let bytes = read_os_file(p, MAX_DROPPED_LEN)?;
        let k = kind_of(p, &bytes)?;
        if kind.is_some_and(|known| known != k) {
            return Err(Error::FileKindsMixed);
        }
        kind = Some(k);
        all.push(bytes);
    }
    Ok((kind.ok_or(Error::NoFile)?, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_within_cap_and_refuses_beyond_it_before_parsing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.lic");
        fs::write(&path, b"0123456789").expect("write");
        assert_eq!(read_os_file(&path, 10).expect("read"), b"0123456789");
        let err = read_os_file(&path, 9).expect_err("too large");
        assert_eq!(err.code(), "FILE_TOO_LARGE");
        let missing = read_os_file(&dir.path().join("nope"), 10).expect_err("missing");
        assert_eq!(missing.code(), "FILE_NOT_FOUND");
        let folder = read_os_file(dir.path(), 10).expect_err("folder");
        assert_eq!(folder.code(), "FILE_NOT_A_FILE");
    }

    #[test]
    fn exactly_one_path() {
        let none: [&str; 0] = [];
        assert_eq!(single_path(&none).expect_err("none").code(), "FILE_NONE");
        assert_eq!(single_path(&["a"]).expect("one"), Path::new("a"));
        assert_eq!(
            single_path(&["a", "b"]).expect_err("two").code(),
            "FILE_TOO_MANY"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/state.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
