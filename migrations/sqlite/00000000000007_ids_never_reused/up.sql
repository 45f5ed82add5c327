-- Ids are never reused (SQLite). A table whose key is a plain INTEGER PRIMARY KEY gives a new
-- row the largest id + 1, so deleting the newest photo, post or subscriber and adding another
-- handed out the same id again: old photo addresses, Atom entry ids and links in sent emails
-- then named different content. AUTOINCREMENT never hands out an id twice (it remembers the
-- largest ever used in sqlite_sequence), as PostgreSQL's identity columns already do.
--
-- SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt the documented way
-- (https://www.sqlite.org/lang_altertable.html#otheralter): new table, rows copied with their
-- ids, old table dropped, new one renamed, indexes made again. Foreign keys are off while it
-- runs (a drop must not cascade), which is why this migration manages its own transaction
-- (metadata.toml) and checks the keys before it commits. Copying the rows seeds
-- sqlite_sequence with each table's largest id.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TEMP TABLE _fk_before AS SELECT count(*) AS n FROM pragma_foreign_key_check;

-- users
CREATE TABLE _new_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    must_change_password BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
INSERT INTO _new_users (id, email, name, role, password_hash, disabled, must_change_password, created_at, updated_at, last_login_at) SELECT id, email, name, role, password_hash, disabled, must_change_password, created_at, updated_at, last_login_at FROM users;
DROP TABLE users;
ALTER TABLE _new_users RENAME TO users;

-- rate_events
CREATE TABLE _new_rate_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
INSERT INTO _new_rate_events (id, bucket, key, at) SELECT id, bucket, key, at FROM rate_events;
DROP TABLE rate_events;
ALTER TABLE _new_rate_events RENAME TO rate_events;
CREATE INDEX rate_events_lookup ON rate_events (bucket, key, at);

-- api_tokens
CREATE TABLE _new_api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
INSERT INTO _new_api_tokens (id, name, token_hash, token_prefix, scopes, created_by, created_at, last_used_at, expires_at, revoked_at) SELECT id, name, token_hash, token_prefix, scopes, created_by, created_at, last_used_at, expires_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE _new_api_tokens RENAME TO api_tokens;

-- categories
CREATE TABLE _new_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    parent_id BIGINT REFERENCES categories (id) ON DELETE RESTRICT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_categories (id, parent_id, slug, name, description, position, created_at, updated_at) SELECT id, parent_id, slug, name, description, position, created_at, updated_at FROM categories;
DROP TABLE categories;
ALTER TABLE _new_categories RENAME TO categories;
CREATE INDEX categories_parent ON categories (parent_id, position);

-- tags
CREATE TABLE _new_tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO _new_tags (id, slug, name, created_at) SELECT id, slug, name, created_at FROM tags;
DROP TABLE tags;
ALTER TABLE _new_tags RENAME TO tags;

-- gallery_categories
CREATE TABLE _new_gallery_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    parent_id BIGINT REFERENCES gallery_categories (id) ON DELETE RESTRICT,
    slug TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    album_count BIGINT NOT NULL DEFAULT 0,
    photo_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_gallery_categories (id, parent_id, slug, path, name, description, position, album_count, photo_count, created_at, updated_at) SELECT id, parent_id, slug, path, name, description, position, album_count, photo_count, created_at, updated_at FROM gallery_categories;
DROP TABLE gallery_categories;
ALTER TABLE _new_gallery_categories RENAME TO gallery_categories;
CREATE INDEX gallery_categories_parent ON gallery_categories (parent_id, position);

-- albums
CREATE TABLE _new_albums (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    category_id BIGINT REFERENCES gallery_categories (id) ON DELETE RESTRICT,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    cover_photo_id BIGINT REFERENCES photos (id) ON DELETE SET NULL,
    photo_count BIGINT NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    published_at TIMESTAMP,
    last_added_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_albums (id, category_id, slug, title, description, credit, status, cover_photo_id, photo_count, position, published_at, last_added_at, created_at, updated_at) SELECT id, category_id, slug, title, description, credit, status, cover_photo_id, photo_count, position, published_at, last_added_at, created_at, updated_at FROM albums;
DROP TABLE albums;
ALTER TABLE _new_albums RENAME TO albums;
CREATE INDEX albums_category ON albums (category_id, position);
CREATE INDEX albums_latest ON albums (status, last_added_at);

-- photos
CREATE TABLE _new_photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    album_id BIGINT NOT NULL REFERENCES albums (id) ON DELETE RESTRICT,
    position BIGINT NOT NULL,
    original_filename TEXT NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    variants TEXT NOT NULL DEFAULT '[]',
    views BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL, title TEXT NOT NULL DEFAULT '', alt_text TEXT NOT NULL DEFAULT '',
    UNIQUE (album_id, content_hash)
);
INSERT INTO _new_photos (id, album_id, position, original_filename, caption, credit, source, content_hash, mime, width, height, bytes, variants, views, created_at, title, alt_text) SELECT id, album_id, position, original_filename, caption, credit, source, content_hash, mime, width, height, bytes, variants, views, created_at, title, alt_text FROM photos;
DROP TABLE photos;
ALTER TABLE _new_photos RENAME TO photos;
CREATE INDEX photos_album_position ON photos (album_id, position, id);
CREATE INDEX photos_created ON photos (created_at);
CREATE INDEX photos_views ON photos (views);

-- posts
CREATE TABLE _new_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('news', 'article', 'page')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'published', 'archived')),
    body_markdown TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL DEFAULT '',
    excerpt TEXT NOT NULL DEFAULT '',
    featured_photo_id BIGINT REFERENCES photos (id) ON DELETE SET NULL,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    publish_at TIMESTAMP,
    published_at TIMESTAMP,
    source_publication TEXT,
    source_author TEXT,
    source_url TEXT,
    source_date DATE,
    notify_subscribers BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_posts (id, slug, title, kind, status, body_markdown, body_html, excerpt, featured_photo_id, author_id, publish_at, published_at, source_publication, source_author, source_url, source_date, notify_subscribers, created_at, updated_at) SELECT id, slug, title, kind, status, body_markdown, body_html, excerpt, featured_photo_id, author_id, publish_at, published_at, source_publication, source_author, source_url, source_date, notify_subscribers, created_at, updated_at FROM posts;
DROP TABLE posts;
ALTER TABLE _new_posts RENAME TO posts;
CREATE INDEX posts_listing ON posts (status, published_at);
CREATE INDEX posts_schedule ON posts (status, publish_at);
CREATE INDEX posts_listed ON posts (status, kind, published_at);

-- post_revisions
CREATE TABLE _new_post_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO _new_post_revisions (id, post_id, author_id, title, body_markdown, excerpt, created_at) SELECT id, post_id, author_id, title, body_markdown, excerpt, created_at FROM post_revisions;
DROP TABLE post_revisions;
ALTER TABLE _new_post_revisions RENAME TO post_revisions;
CREATE INDEX post_revisions_post ON post_revisions (post_id, id);

-- videos
CREATE TABLE _new_videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    series TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    release_date DATE,
    credits TEXT NOT NULL DEFAULT '',
    duration_seconds INTEGER,
    embed_url TEXT,
    file_key TEXT,
    file_mime TEXT,
    poster_key TEXT,
    transcript TEXT NOT NULL DEFAULT '',
    transcript_format TEXT NOT NULL DEFAULT 'none' CHECK (transcript_format IN ('none', 'plain', 'vtt')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    published_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_videos (id, slug, title, description, series, source, release_date, credits, duration_seconds, embed_url, file_key, file_mime, poster_key, transcript, transcript_format, status, published_at, created_at, updated_at) SELECT id, slug, title, description, series, source, release_date, credits, duration_seconds, embed_url, file_key, file_mime, poster_key, transcript, transcript_format, status, published_at, created_at, updated_at FROM videos;
DROP TABLE videos;
ALTER TABLE _new_videos RENAME TO videos;
CREATE INDEX videos_listing ON videos (status, release_date);

-- subscribers
CREATE TABLE _new_subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
    confirm_token_hash TEXT UNIQUE,
    confirm_sent_at TIMESTAMP,
    confirm_expires_at TIMESTAMP,
    token_version INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL DEFAULT 'form',
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    unsubscribed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO _new_subscribers (id, email, status, confirm_token_hash, confirm_sent_at, confirm_expires_at, token_version, source, created_at, confirmed_at, unsubscribed_at, updated_at) SELECT id, email, status, confirm_token_hash, confirm_sent_at, confirm_expires_at, token_version, source, created_at, confirmed_at, unsubscribed_at, updated_at FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE _new_subscribers RENAME TO subscribers;
CREATE INDEX subscribers_status ON subscribers (status, id);

-- email_outbox
CREATE TABLE _new_email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    subscriber_id BIGINT REFERENCES subscribers (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    item_type TEXT,
    item_id BIGINT,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
, payload TEXT NOT NULL DEFAULT '{}');
INSERT INTO _new_email_outbox (id, dedupe_key, kind, subscriber_id, recipient, item_type, item_id, message_id, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, sent_at, payload) SELECT id, dedupe_key, kind, subscriber_id, recipient, item_type, item_id, message_id, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, sent_at, payload FROM email_outbox;
DROP TABLE email_outbox;
ALTER TABLE _new_email_outbox RENAME TO email_outbox;
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_item ON email_outbox (item_type, item_id, status);

-- jobs
CREATE TABLE _new_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    unique_key TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
, progress TEXT NOT NULL DEFAULT '');
INSERT INTO _new_jobs (id, kind, payload, unique_key, status, run_at, attempts, max_attempts, lease_owner, lease_until, last_error, created_at, updated_at, finished_at, progress) SELECT id, kind, payload, unique_key, status, run_at, attempts, max_attempts, lease_owner, lease_until, last_error, created_at, updated_at, finished_at, progress FROM jobs;
DROP TABLE jobs;
ALTER TABLE _new_jobs RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (status, run_at);

-- audit_log
CREATE TABLE _new_audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BIGINT,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO _new_audit_log (id, user_id, actor, action, target_type, target_id, detail, ip, created_at) SELECT id, user_id, actor, action, target_type, target_id, detail, ip, created_at FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE _new_audit_log RENAME TO audit_log;
CREATE INDEX audit_log_created ON audit_log (created_at);

-- The rebuild broke no reference: as many rows point nowhere as before (none, normally).
-- A difference fails the CHECK, and the transaction is never committed.
CREATE TEMP TABLE _fk_guard (n INTEGER CHECK (n = 0));
INSERT INTO _fk_guard SELECT (SELECT count(*) FROM pragma_foreign_key_check) - (SELECT n FROM _fk_before);
DROP TABLE _fk_guard;
DROP TABLE _fk_before;
COMMIT;
PRAGMA foreign_keys = ON;
