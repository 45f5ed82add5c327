ALTER TABLE photos DROP COLUMN alt_text;
ALTER TABLE photos DROP COLUMN title;
DROP TABLE redirects;
DROP TABLE import_items;
