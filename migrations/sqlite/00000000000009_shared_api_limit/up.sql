-- The API's per-token rate limit, kept in the database so that every node counts the same
-- requests (GCRA): the theoretical arrival time of the token's next request, in microseconds
-- since 1970. A row is written by each request a token makes.
CREATE TABLE api_rate (
    token_id BIGINT PRIMARY KEY REFERENCES api_tokens (id) ON DELETE CASCADE,
    tat BIGINT NOT NULL
);
