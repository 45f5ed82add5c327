-- The characters search results mark matches with (U+0002, U+0003) are kept out of the index
-- since this release; text indexed before may hold them. Each becomes a space (a word break,
-- as the parser read it). PostgreSQL's results were already made without them; this keeps
-- both backends' indexes the same.
UPDATE search_documents
SET title = translate(title, chr(2) || chr(3), '  '),
    body = translate(body, chr(2) || chr(3), '  ')
WHERE strpos(title, chr(2)) > 0 OR strpos(title, chr(3)) > 0
   OR strpos(body, chr(2)) > 0 OR strpos(body, chr(3)) > 0;
