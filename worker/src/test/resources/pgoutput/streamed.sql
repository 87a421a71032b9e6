-- pgoutput fixture streamed.bin, captured by io.pgactive.pgoutput.CaptureFixtures from PostgreSQL 15
-- with proto_version 2 streaming on publication_names pub_streamed messages true, session TimeZone UTC.
-- Protocol version 2 with streaming, logical_decoding_work_mem 64kB: a transaction too large to wait for its commit, with a subtransaction rolled back, a logical message and an update, that commits (segments, a Stream Abort of the subtransaction, Stream Commit); then a large one that rolls back (Stream Abort).

-- Setup, run before the slot was created (not in the capture):
CREATE TABLE big (id integer PRIMARY KEY, v text);
CREATE PUBLICATION pub_streamed FOR TABLE big;

-- Workload, captured:
BEGIN;
INSERT INTO big SELECT g, repeat('x', 60) FROM generate_series(1, 400) g;
SAVEPOINT s1;
INSERT INTO big SELECT g, repeat('z', 60) FROM generate_series(2001, 2700) g;
ROLLBACK TO SAVEPOINT s1;
SELECT pg_logical_emit_message(true, 'pgactive', 'in a stream');
UPDATE big SET v = 'last' WHERE id = 1;
COMMIT;
BEGIN;
INSERT INTO big SELECT g, repeat('y', 60) FROM generate_series(3001, 3700) g;
ROLLBACK;
