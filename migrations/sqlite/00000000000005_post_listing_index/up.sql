-- Lists and their counts filter published posts by kind (pages are left out) and order or group
-- them by publication time: with all three in one index, the per-version post counts
-- (`post::stats`) and list pages read the index alone, never the wide post rows.
CREATE INDEX posts_listed ON posts (status, kind, published_at);
