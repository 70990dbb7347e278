//! The data dir's lock, and the `backup` and `restore` commands.
//!
//! **Lock.** `serve` and `restore` hold an exclusive advisory lock on
//! `DATA_DIR/server.lock` for as long as they run, so a second server, or
//! a restore under a running server, fails at once with a clear error. The
//! lock is `std::fs::File::try_lock` (stable since Rust 1.89, our
//! `rust-version`; an `flock(LOCK_EX | LOCK_NB)` on Unix), so no crate is
//! added for it; the kernel releases it when the process ends, however it
//! ends (`kill -9` included), so a crash never leaves a stale lock.
//! `backup` takes no lock (it is made for a running server), nor does
//! `rotate-key` (it writes only the keys dir; the server reads the new key
//! when restarted).
//!
//! **Backup** is `VACUUM INTO` from a read-only connection of its own. It
//! runs in one read transaction, so the copy is the database as of one
//! commit, whatever the server writes meanwhile; a WAL reader never blocks
//! the writer, and the server only runs passive checkpoints, which never
//! wait for a reader (the WAL just grows a little while the backup reads).
//! Chosen over the online backup API because that API copies in steps and
//! starts over whenever another connection commits between two steps (or
//! holds the read transaction for the whole copy anyway when run in one
//! step, which is what `VACUUM INTO` does), needs a rusqlite feature more,
//! and copies free pages too; `VACUUM INTO` writes a compact file in
//! rollback-journal mode: one self-contained file, no `-wal` beside it.
//!
//! **Restore** checks the file, copies it into a temporary file in the
//! data dir, migrates the copy and gives it a new instance id there, and
//! only then renames it over the database: the database the server can
//! open is always either the old one or the finished new one, never a
//! restored database still carrying its old instance id (whose cursors
//! clients may hold, past the point where the restored feed ends).

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::db::FILE_NAME;
use crate::db::migrations::{MIGRATIONS, migrate};
use crate::db::sqlite::{instance, renew_instance};

/// The lock file in the data dir, held by `serve` and `restore`.
pub const LOCK_FILE: &str = "server.lock";

/// The data dir's lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates the data dir (and any missing parents) readable by its owner
/// only: it holds the database, with every account's customers, devices and
/// orders, and the signing keys. A directory that exists is left as it is.
pub fn create_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(data_dir)
        .with_context(|| format!("creating the data dir {}", data_dir.display()))
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

/// What a LicenseDesk database says about itself.
#[derive(Debug, Clone)]
pub struct DbInfo {
    /// Its schema version (`PRAGMA user_version`: its last migration).
    pub version: u32,
    /// Its instance id (none before migration 8).
    pub instance: Option<String>,
}

/// A backup written by [`backup`].
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub info: DbInfo,
}

/// Writes a consistent copy of the data dir's database to `to`, which must
/// not exist; safe while the server runs. The copy is checked as
/// [`restore`] checks a file before it is put in place under `to`.
pub fn backup(data_dir: &Path, to: &Path) -> anyhow::Result<Backup> {
    let db = data_dir.join(FILE_NAME);
    if !db.is_file() {
        bail!(
            "there is no database to back up at {}; give the server's data dir with --data-dir",
            db.display()
        );
    }
    refuse_existing(to)?;
    let name = to
        .file_name()
        .with_context(|| format!("{} is not a file name", to.display()))?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = write_backup(&db, &tmp, to);
    let _ = fs::remove_file(&tmp);
    let info = written?;
    sync_dir(dir);
    let bytes = fs::metadata(to)
        .with_context(|| format!("reading the size of {}", to.display()))?
        .len();
    Ok(Backup {
        path: to.to_owned(),
        bytes,
        info,
    })
}

fn write_backup(db: &Path, tmp: &Path, to: &Path) -> anyhow::Result<DbInfo> {
    copy_database(db, tmp)
        .with_context(|| format!("copying {} to {}", db.display(), tmp.display()))?;
    let info = inspect(tmp).context("checking the copy")?;
    // A link fails if `to` appeared meanwhile: never overwritten. Renaming
    // is the fallback for file systems without hard links (FAT).
    match fs::hard_link(tmp, to) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(exists(to)),
        Err(_) => {
            refuse_existing(to)?;
            fs::rename(tmp, to).with_context(|| format!("writing {}", to.display()))?;
        }
    }
    Ok(info)
}

fn refuse_existing(to: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(to) {
        Ok(_) => Err(exists(to)),
        Err(_) => Ok(()),
    }
}

fn exists(to: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} already exists; backup never overwrites a file: choose another name or move that file away",
        to.display()
    )
}

/// `VACUUM INTO` from a read-only connection to `src` (see the module
/// doc), then flushed to disk (SQLite does not sync what it writes there).
fn copy_database(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let dst_str = dst
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", dst.display()))?;
    // Created first, for its owner only (`VACUUM INTO` fills an empty
    // file and keeps its mode): a backup holds what the database holds.
    let mut create = OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(dst)?;
    let conn = open_read_only(src)?;
    conn.execute("VACUUM INTO ?1", [dst_str])?;
    conn.close().map_err(|(_, e)| e)?;
    File::open(dst)?.sync_all()?;
    Ok(())
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Checks that `path` is a sound LicenseDesk database this server can run:
/// opened read-only, `integrity_check` is ok, it has the `meta` table (with
/// an instance id from migration 8 on) and the feed, and a schema version
/// between 1 and this server's.
pub fn inspect(path: &Path) -> anyhow::Result<DbInfo> {
    let shown = path.display();
    if !path.is_file() {
        bail!("{shown} does not exist or is not a file");
    }
    let conn = open_read_only(path).with_context(|| format!("opening {shown}"))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => {
                anyhow::anyhow!("{shown} is not a LicenseDesk database (not even an SQLite one)")
            }
            Some(ErrorCode::DatabaseCorrupt) => {
                anyhow::anyhow!("{shown} is damaged ({e}); use another backup")
            }
            _ => anyhow::anyhow!("reading {shown}: {e}"),
        })?;
    if check != "ok" {
        bail!("{shown} is damaged (integrity_check: {check}); use another backup");
    }
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'changes', 'accounts')",
        [],
        |r| r.get(0),
    )?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if tables != 3 || version == 0 {
        bail!(
            "{shown} is not a LicenseDesk database (no meta, changes and accounts tables with a schema version)"
        );
    }
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if version > latest {
        bail!(
            "{shown} has schema version {version}, newer than this server's ({latest}); restore it with a newer licensedesk-server"
        );
    }
    let instance = instance(&conn)?;
    if instance.is_none() && version >= 8 {
        bail!(
            "{shown} has no instance id in its meta table; it is not a database this server wrote"
        );
    }
    Ok(DbInfo { version, instance })
}

/// The outcome of [`restore`].
#[derive(Debug)]
pub struct Restored {
    /// The database now in place.
    pub database: PathBuf,
    /// The backup's own schema version and instance id.
    pub from: DbInfo,
    /// The database that was in place, if any: where it is kept, and its
    /// instance id when it could be read.
    pub previous: Option<(PathBuf, Option<String>)>,
    /// The restored database's schema version after migrating.
    pub version: u32,
    /// The restored database's new instance id.
    pub instance: String,
}

/// Replaces the data dir's database with the backup `from` (see the module
/// doc). Refuses while a server runs on `data_dir`; a file that is not a
/// sound LicenseDesk database changes nothing. The database it replaces is
/// kept as `licensedesk.sqlite3.<UTC time>.bak` (with its `-wal` and
/// `-shm`, if checkpointing them into it failed).
pub fn restore(data_dir: &Path, from: &Path, now: DateTime<Utc>) -> anyhow::Result<Restored> {
    // Checked before anything in the data dir is touched (the lock file
    // included).
    let info = inspect(from).with_context(|| {
        format!(
            "refusing to restore from {}; nothing in {} was changed",
            from.display(),
            data_dir.display()
        )
    })?;
    create_data_dir(data_dir)?;
    let _lock = lock_data_dir(data_dir, "restoring")?;
    let live = data_dir.join(FILE_NAME);
    // One name: the lock means one restore at a time. Whatever a restore
    // that crashed left there (a hot journal included) is removed first.
    let tmp = data_dir.join(format!(".{FILE_NAME}.restore.tmp"));
    remove_with_sidecars(&tmp, &["-journal", "-wal", "-shm"]);
    let placed = place(&live, &tmp, &info, from, now);
    remove_with_sidecars(&tmp, &["-journal", "-wal", "-shm"]);
    let (previous, version, instance) = placed?;
    Ok(Restored {
        database: live,
        from: info,
        previous,
        version,
        instance,
    })
}

type Placed = (Option<(PathBuf, Option<String>)>, u32, String);

fn place(
    live: &Path,
    tmp: &Path,
    info: &DbInfo,
    from: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<Placed> {
    let dir = live.parent().unwrap_or(Path::new("."));
    copy_database(from, tmp)
        .with_context(|| format!("copying {} into {}", from.display(), dir.display()))?;
    let current = if live.exists() {
        Some(fold_wal(live))
    } else {
        None
    };
    let mut avoid: Vec<&str> = info.instance.iter().map(String::as_str).collect();
    avoid.extend(current.iter().flatten().map(String::as_str));
    let (version, instance) = prepare(tmp, &avoid).context("preparing the restored copy")?;
    let kept = set_aside(live, now)?;
    fs::rename(tmp, live)
        .with_context(|| format!("moving the restored copy to {}", live.display()))?;
    sync_dir(dir);
    Ok((kept.map(|k| (k, current.flatten())), version, instance))
}

/// Migrates the copy (a backup may predate newer migrations) and gives it
/// a fresh instance id in migration 8's form, differing from `avoid`; then
/// switches it to WAL (the server's mode) and flushes it. Returns its
/// schema version and instance id.
fn prepare(tmp: &Path, avoid: &[&str]) -> anyhow::Result<(u32, String)> {
    let mut conn = Connection::open(tmp)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let version = migrate(&mut conn)?;
    let instance = loop {
        let id = renew_instance(&conn)?;
        if !avoid.contains(&id.as_str()) {
            break id;
        }
    };
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Closing the last connection checkpoints the WAL and deletes it.
    conn.close().map_err(|(_, e)| e)?;
    File::open(tmp)?.sync_all()?;
    Ok((version, instance))
}

/// Copies the current database's WAL into its file (so the file alone is
/// the whole database) and returns its instance id; best effort: a damaged
/// database is still set aside, its `-wal` moved along with it.
fn fold_wal(live: &Path) -> Option<String> {
    let fold = || -> rusqlite::Result<Option<String>> {
        let conn = Connection::open_with_flags(
            live,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let instance = instance(&conn).unwrap_or(None);
        conn.close().map_err(|(_, e)| e)?;
        Ok(instance)
    };
    fold().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not checkpoint the current database; its -wal is kept beside its backup");
        None
    })
}

/// Keeps the current database (if any) under a new timestamped name, with
/// its `-wal` and `-shm` if they remain, and clears the live name's
/// sidecars so the restored file never meets another database's WAL.
/// The database is kept by a hard link, so the live name still holds a
/// whole database until the restored copy is renamed over it.
fn set_aside(live: &Path, now: DateTime<Utc>) -> anyhow::Result<Option<PathBuf>> {
    let sidecars: Vec<&str> = ["-wal", "-shm"]
        .into_iter()
        .filter(|s| with_suffix(live, s).exists())
        .collect();
    let existed = live.exists();
    if !existed && sidecars.is_empty() {
        return Ok(None);
    }
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let mut n = 1;
    let kept = loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let kept = with_suffix(live, &format!(".{stamp}{suffix}.bak"));
        let taken = if existed {
            match fs::hard_link(live, &kept) {
                Ok(()) => false,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => true,
                Err(_) if !kept.exists() => {
                    // No hard links here (FAT): copy, flushed.
                    fs::copy(live, &kept)
                        .and_then(|_| File::open(&kept)?.sync_all())
                        .with_context(|| {
                            format!("keeping {} as {}", live.display(), kept.display())
                        })?;
                    false
                }
                Err(_) => true,
            }
        } else {
            kept.exists()
        };
        if !taken {
            break kept;
        }
        n += 1;
    };
    for side in sidecars {
        let from = with_suffix(live, side);
        let to = with_suffix(&kept, side);
        fs::rename(&from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
    }
    Ok(existed.then_some(kept))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_with_sidecars(path: &Path, sidecars: &[&str]) {
    let _ = fs::remove_file(path);
    for side in sidecars {
        let _ = fs::remove_file(with_suffix(path, side));
    }
}

/// Flushes a directory's entries (the renames and links made in it); best
/// effort, as not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    /// A new data dir, and the parents it needs, are for their owner only;
    /// one that exists keeps its mode.
    #[cfg(unix)]
    #[test]
    fn a_new_data_dir_is_private_and_an_existing_one_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("srv/licensedesk");
        create_data_dir(&nested).expect("create");
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(nested.parent().expect("parent")), 0o700);
        fs::set_permissions(&nested, fs::Permissions::from_mode(0o750)).expect("chmod");
        create_data_dir(&nested).expect("exists");
        assert_eq!(mode(&nested), 0o750);
    }

    /// A backup, and a database put in place by a restore, are readable by
    /// their owner only.
    #[cfg(unix)]
    #[test]
    fn a_backup_and_a_restored_database_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        create_data_dir(&data).expect("data dir");
        let mut c = Connection::open(data.join(FILE_NAME)).expect("open");
        migrate(&mut c).expect("migrate");
        drop(c);
        let file = dir.path().join("copy.sqlite3");
        backup(&data, &file).expect("backup");
        assert_eq!(mode(&file), 0o600);
        let other = dir.path().join("other");
        restore(&other, &file, Utc::now()).expect("restore");
        assert_eq!(mode(&other.join(FILE_NAME)), 0o600);
    }

    /// A backup made before the latest migrations is migrated when
    /// restored, and gets a new instance id whether it had one or not.
    #[test]
    fn an_older_backup_is_migrated_and_gets_an_instance() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("v7.sqlite3");
        let c = Connection::open(&old).expect("open");
        for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 7) {
            c.execute_batch(sql).expect("migration");
            c.pragma_update(None, "user_version", version)
                .expect("version");
        }
        drop(c);
        let info = inspect(&old).expect("a version 7 database is sound");
        assert_eq!((info.version, info.instance), (7, None));

        let data_dir = dir.path().join("data");
        let now = chrono::DateTime::UNIX_EPOCH;
        let r = restore(&data_dir, &old, now).expect("restore");
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        assert_eq!(r.version, latest);
        assert!(r.previous.is_none());
        let restored = inspect(&data_dir.join(FILE_NAME)).expect("restored");
        assert_eq!(restored.version, latest);
        assert_eq!(restored.instance.as_deref(), Some(r.instance.as_str()));
        assert_eq!(r.instance.len(), 16);

        // Restored again over itself: the one in place is kept, with its id.
        let again = restore(&data_dir, &old, now).expect("restore again");
        let (kept, kept_instance) = again.previous.expect("kept");
        assert_eq!(kept_instance.as_deref(), Some(r.instance.as_str()));
        assert_eq!(inspect(&kept).expect("kept").instance, Some(r.instance));
        assert_ne!(again.instance, kept_instance.unwrap_or_default());
        // A third one in the same second gets a name of its own.
        let third = restore(&data_dir, &old, now).expect("restore a third time");
        assert_ne!(third.previous.expect("kept").0, kept);
    }
}
