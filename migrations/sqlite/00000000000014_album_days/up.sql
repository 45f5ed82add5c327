-- What an album got on a given day (the home page's latest additions, update digests): read
-- from that album's photos of that day, whatever the rest of the site added that day (after
-- an import of thousands of photos the site-wide `photos_created` range is the whole import)
-- and however large the album is. Analyzed at once, so that the planner weighs it with the
-- other indexes of photos from the start (an index without statistics beside ones with them
-- can be preferred where it should not be, e.g. for an album page in position order).
CREATE INDEX photos_album_created ON photos (album_id, created_at);
ANALYZE photos;
