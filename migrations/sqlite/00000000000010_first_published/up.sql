-- When a post was first published, kept when it is taken back to a draft: its address was
-- given out then, so retitling the draft keeps the slug (or redirects from it) instead of
-- letting it follow the new title as a never-published draft's does.
ALTER TABLE posts ADD COLUMN first_published_at TIMESTAMP;
UPDATE posts SET first_published_at = published_at WHERE published_at IS NOT NULL;
