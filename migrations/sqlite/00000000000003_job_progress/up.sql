-- Progress of long jobs (server-side gallery imports), shown live in the admin.
ALTER TABLE jobs ADD COLUMN progress TEXT NOT NULL DEFAULT '';
