-- LicenseDesk alert state, version 1: one database per app data directory
-- (every profile's alerts and the gateway registry's), so a restart neither
-- repeats an alert nor forgets one. Times are fixed-width RFC 3339 UTC.

-- One row per alert that was ever raised: (scope, kind, subject) is core's
-- AlertKey (scope = a profile id or 'gateways').
CREATE TABLE alerts (
    scope         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    raised        INTEGER NOT NULL CHECK (raised IN (0, 1)),
    raised_at     TEXT NOT NULL,              -- when it was last raised
    cleared_at    TEXT,                       -- when it last cleared (NULL while raised)
    seen_at       TEXT NOT NULL,              -- the last evaluation that saw it
    params        TEXT NOT NULL,              -- JSON: the figures it is worded from
    times_raised  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (scope, kind, subject)
) WITHOUT ROWID;

-- Every notification the app asked the OS to show, written in the same
-- transaction as the alert it announces (what the user was told, and when).
CREATE TABLE notifications (
    id        INTEGER PRIMARY KEY,
    scope     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,
    language  TEXT NOT NULL,
    asked_at  TEXT NOT NULL
);
