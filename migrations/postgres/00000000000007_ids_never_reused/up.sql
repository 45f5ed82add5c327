-- Ids are never reused: PostgreSQL's identity columns never hand out a value twice already.
-- This migration exists so both backends keep the same names and order (the SQLite one
-- rebuilds its tables with AUTOINCREMENT).
SELECT 1;
