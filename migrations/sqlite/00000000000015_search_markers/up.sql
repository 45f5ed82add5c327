-- The characters search results mark matches with (U+0002, U+0003) are kept out of the index
-- since this release: text indexed before may hold them, and FTS5 returns stored text as it
-- is, so a stray one opened or closed a <mark> of its own in a result. Each becomes a space
-- (a word break, as the tokenizer read it).
UPDATE search_fts
SET title = replace(replace(title, char(2), ' '), char(3), ' '),
    body = replace(replace(body, char(2), ' '), char(3), ' ')
WHERE instr(title, char(2)) > 0 OR instr(title, char(3)) > 0
   OR instr(body, char(2)) > 0 OR instr(body, char(3)) > 0;
