-- Nothing to undo: AUTOINCREMENT keys are plain INTEGER PRIMARY KEYs that also remember the
-- largest id ever used; the earlier schema reads and writes them the same way.
SELECT 1;
