-- Wakes the workers of every node the moment there is work for them, instead of each node
-- asking every half second. Each `cms serve` listens on the channel `keepsake` (one idle
-- connection, `cms_core::db::wake`); these triggers notify it with the table's name when
-- work is queued. NOTIFY is transactional: it is delivered when the writing transaction
-- commits, never for one rolled back, and repeated notifications in one transaction are sent
-- once. The workers still look on their own now and then (retries and leases fall due with
-- time, and a node whose listening connection is lost polls as before).
CREATE FUNCTION keepsake_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keepsake', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- Jobs queued (publishing, fan-outs, digests, imports) or queued again (rescheduled,
-- released, freed from a dead node).
CREATE TRIGGER jobs_wake AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION keepsake_wake();
CREATE TRIGGER jobs_wake_again AFTER UPDATE OF status, run_at ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION keepsake_wake();

-- Emails queued, or queued again: by the admin's "retry failed", handed back by a node that
-- stops, or to be retried later (a wake-up that finds nothing due yet costs a read).
CREATE TRIGGER email_outbox_wake AFTER INSERT ON email_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION keepsake_wake();
CREATE TRIGGER email_outbox_wake_again AFTER UPDATE OF status ON email_outbox
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION keepsake_wake();

-- The change stream (webhooks plan deliveries from it), a test ping or "send again", a hook
-- turned on again. (Deliveries a stopping node hands back notify from `webhook::release`.)
CREATE TRIGGER change_events_wake AFTER INSERT ON change_events
    FOR EACH STATEMENT EXECUTE FUNCTION keepsake_wake();
CREATE TRIGGER webhook_deliveries_wake AFTER INSERT ON webhook_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION keepsake_wake();
CREATE TRIGGER webhook_deliveries_wake_again AFTER UPDATE OF status, attempts ON webhook_deliveries
    FOR EACH ROW WHEN (NEW.status = 'queued' AND NEW.attempts = 0)
    EXECUTE FUNCTION keepsake_wake();
CREATE TRIGGER webhooks_wake AFTER UPDATE OF enabled ON webhooks
    FOR EACH ROW WHEN (NEW.enabled AND NOT OLD.enabled) EXECUTE FUNCTION keepsake_wake();

-- Content changed: every node's page cache and ETags are stale at once.
CREATE TRIGGER site_state_wake AFTER UPDATE OF content_version ON site_state
    FOR EACH STATEMENT EXECUTE FUNCTION keepsake_wake();
