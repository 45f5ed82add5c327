ALTER TABLE posts DROP COLUMN first_published_at;
