-- Month close (server issue 12): a product's closed months, as the change
-- feed sends them (`statement` inserts), the whole statement kept as JSON.
CREATE TABLE statements (
    id     INTEGER PRIMARY KEY,
    pk     TEXT NOT NULL,
    month  TEXT NOT NULL,              -- YYYY-MM, the data center's month
    data   TEXT NOT NULL               -- JSON of the server's Statement
);
CREATE INDEX statements_pk_month ON statements(pk, month);
