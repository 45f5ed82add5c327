-- Keepsake foundation schema (SQLite). Keep in step with ../../postgres/00000000000001_foundation/up.sql:
-- same tables, columns, constraints and indexes; only the types differ.

-- One row that every reader-visible write bumps in its own transaction. Page caches and ETags key on it.
CREATE TABLE site_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    content_version BIGINT NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO site_state (id, content_version) VALUES (1, 1);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
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

-- Server-side sessions: the cookie carries a random id, the table only its SHA-256.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Sliding-window rate limiting shared by every node (failed logins, subscribe form).
CREATE TABLE rate_events (
    id INTEGER PRIMARY KEY NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX rate_events_lookup ON rate_events (bucket, key, at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
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

-- Post categories: a tree (parent_id), slugs unique site-wide because URLs are /category/{slug}.
CREATE TABLE categories (
    id INTEGER PRIMARY KEY NOT NULL,
    parent_id BIGINT REFERENCES categories (id) ON DELETE RESTRICT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id, position);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Gallery categories nest to any depth. `path` is the slug chain used in /gallery/a/b/c URLs.
-- album_count and photo_count are recursive and count published albums only (what readers see);
-- they are changed in the same transaction as every insert, delete, move and publish.
CREATE TABLE gallery_categories (
    id INTEGER PRIMARY KEY NOT NULL,
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
CREATE INDEX gallery_categories_parent ON gallery_categories (parent_id, position);

CREATE TABLE albums (
    id INTEGER PRIMARY KEY NOT NULL,
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
CREATE INDEX albums_category ON albums (category_id, position);
CREATE INDEX albums_latest ON albums (status, last_added_at);

-- Photos. Files live in the media store under content-addressed keys derived from content_hash;
-- `variants` lists the derivative widths written for this photo (JSON array of integers).
CREATE TABLE photos (
    id INTEGER PRIMARY KEY NOT NULL,
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
    created_at TIMESTAMP NOT NULL,
    UNIQUE (album_id, content_hash)
);
CREATE INDEX photos_album_position ON photos (album_id, position, id);
CREATE INDEX photos_created ON photos (created_at);
CREATE INDEX photos_views ON photos (views);

CREATE TABLE posts (
    id INTEGER PRIMARY KEY NOT NULL,
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
CREATE INDEX posts_listing ON posts (status, published_at);
CREATE INDEX posts_schedule ON posts (status, publish_at);

CREATE TABLE post_categories (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    category_id BIGINT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, category_id)
);
CREATE INDEX post_categories_category ON post_categories (category_id, post_id);

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

-- A changed slug keeps the old one here so /posts/{old} answers 301.
CREATE TABLE post_slug_redirects (
    old_slug TEXT PRIMARY KEY NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE post_revisions (
    id INTEGER PRIMARY KEY NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX post_revisions_post ON post_revisions (post_id, id);

CREATE TABLE videos (
    id INTEGER PRIMARY KEY NOT NULL,
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
CREATE INDEX videos_listing ON videos (status, release_date);

CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY NOT NULL,
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
CREATE INDEX subscribers_status ON subscribers (status, id);

CREATE TABLE subscriber_topics (
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    topic TEXT NOT NULL CHECK (topic IN ('news', 'gallery', 'videos')),
    PRIMARY KEY (subscriber_id, topic)
);
CREATE INDEX subscriber_topics_topic ON subscriber_topics (topic, subscriber_id);

-- One row per message to send. dedupe_key is unique per (item, subscriber), so a repeated
-- fan-out cannot queue anyone twice. Deleting a subscriber deletes their rows.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY NOT NULL,
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
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_item ON email_outbox (item_type, item_id, status);

-- Durable work (scheduled publishing, fan-out, imports): a row first, then a worker claims it
-- with a lease, so a crash resumes and two nodes never run the same job.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY NOT NULL,
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
);
CREATE INDEX jobs_due ON jobs (status, run_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BIGINT,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
