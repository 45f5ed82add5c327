-- Nothing here: on PostgreSQL this migration adds triggers that wake every node's workers
-- when work is queued (LISTEN/NOTIFY). SQLite has one node; its workers look on their own.
SELECT 1;
