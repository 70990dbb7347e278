//! The data dir's lock.
//!
//! `serve` holds an exclusive advisory lock on `DATA_DIR/server.lock` for
//! as long as it runs, so a second server on the same data dir fails at
//! once with a clear error. The lock is `std::fs::File::try_lock` (stable
//! since Rust 1.89, our `rust-version`; an `flock(LOCK_EX | LOCK_NB)` on
//! Unix), so no crate is added for it; the kernel releases it when the
//! process ends, however it ends (`kill -9` included), so a crash never
//! leaves a stale lock. `rotate-key` takes no lock (it writes only the keys
//! dir; the server reads the new key when restarted).

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use anyhow::{Context, bail};

/// The lock file in the data dir, held by `serve`.
pub const LOCK_FILE: &str = "server.lock";

/// The data dir's lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the data dir's exclusive lock, or fails at once if another
/// process holds it. `doing` says what needed it ("starting the server").
pub fn lock_data_dir(data_dir: &Path, doing: &str) -> anyhow::Result<DataDirLock> {
    let path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "another licensedesk-server is running on the data dir {} (it holds the lock {}); stop it before {doing}",
            data_dir.display(),
            path.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}
