-- Webhooks: endpoints that are sent the change stream (`change_events`), and the deliveries
-- queued for them. A hook's `cursor` is the last event it has been given deliveries for, so
-- events are turned into deliveries exactly once per hook whatever the number of nodes.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    url TEXT NOT NULL,
    -- The event types wanted, comma-separated (empty: every type).
    events TEXT NOT NULL DEFAULT '',
    -- The signing secret, sealed with the site's key (AES-256-GCM, as two-step secrets are).
    secret TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    cursor BIGINT NOT NULL DEFAULT 0,
    failing_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The event delivered (0 for a test ping); one delivery per (hook, event).
    event_id BIGINT NOT NULL,
    -- `webhook-id`: stable across retries, so receivers can drop duplicates.
    message_id TEXT NOT NULL,
    -- Deliveries about one item go out in order: `post:12`.
    item_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id)
    WHERE event_id > 0;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_item ON webhook_deliveries (webhook_id, item_key, id);
