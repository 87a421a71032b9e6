-- pgoutput fixture dml_types.bin, captured by io.pgactive.decode.CaptureFixtures from PostgreSQL 15
-- with proto_version '1', messages 'true', publication_names 'pub_dml_types', session TimeZone UTC.
-- Common column types, NULLs, INSERT, UPDATE without and with a key change, DELETE, and a transaction with several changes, on a table in a non-public schema.

-- Setup, run before the slot was created (not in the capture):
CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, label text, price numeric(12,4), created timestamptz, payload bytea, doc jsonb, tags integer[], code varchar(20));
CREATE PUBLICATION pub_dml_types FOR TABLE app.items;

-- Workload, captured:
INSERT INTO app.items VALUES (1, 'héllo wörld ✓', 12345.6789, '2024-02-29 13:14:15.123456+00', '\x00ff10', '{"b": [true, null], "a": 1}', '{1,2,NULL,4}', 'short');
INSERT INTO app.items (id) VALUES (2);
UPDATE app.items SET label = 'updated', price = -0.5 WHERE id = 1;
UPDATE app.items SET id = 10 WHERE id = 2;
DELETE FROM app.items WHERE id = 10;
BEGIN;
INSERT INTO app.items (id, label) VALUES (3, E'tab\there, quote '' and backslash \\ and\nnewline');
INSERT INTO app.items (id, label) VALUES (4, '');
DELETE FROM app.items WHERE id = 1;
COMMIT;
