-- pgoutput fixture truncate_messages.bin, captured by io.pgactive.decode.CaptureFixtures from PostgreSQL 15
-- with proto_version '1', messages 'true', publication_names 'pub_truncate_messages', session TimeZone UTC.
-- TRUNCATE of one table and of two with RESTART IDENTITY CASCADE; transactional and non-transactional logical messages, including one emitted by a transaction that rolls back.

-- Setup, run before the slot was created (not in the capture):
CREATE TABLE parent (id serial PRIMARY KEY, name text);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE TABLE solo (id integer PRIMARY KEY);
CREATE PUBLICATION pub_truncate_messages FOR TABLE parent, child, solo;

-- Workload, captured:
INSERT INTO parent (name) VALUES ('p1');
INSERT INTO child VALUES (1, 1);
INSERT INTO solo VALUES (1);
TRUNCATE solo;
TRUNCATE parent RESTART IDENTITY CASCADE;
SELECT pg_logical_emit_message(true, 'pgactive', 'hello');
SELECT pg_logical_emit_message(false, 'pgactive', '\x00ff00'::bytea);
BEGIN;
INSERT INTO solo VALUES (2);
SELECT pg_logical_emit_message(false, 'pgactive.nontx', 'from aborted');
SELECT pg_logical_emit_message(true, 'pgactive.tx', 'rolled back');
ROLLBACK;
