-- A fresh cache loads its snapshot into bare tables (`cache::bulk`): the
-- secondary indexes and triggers of `codes` and `devices` are dropped when
-- the snapshot starts, their SQL kept here, and each table's are created
-- again from here once its rows are in. A row here = an object absent from
-- the schema until then.
CREATE TABLE deferred_schema (
    name  TEXT PRIMARY KEY,
    tbl   TEXT NOT NULL,
    type  TEXT NOT NULL CHECK (type IN ('index', 'trigger')),
    sql   TEXT NOT NULL
) WITHOUT ROWID;
