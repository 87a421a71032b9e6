-- pgoutput fixture identity_toast.bin, captured by io.pgactive.decode.CaptureFixtures from PostgreSQL 15
-- with proto_version '1', messages 'true', publication_names 'pub_identity_toast', session TimeZone UTC.
-- REPLICA IDENTITY FULL (old tuple 'O' on UPDATE and DELETE) and an UPDATE leaving a 100 kB TOASTed column unchanged ('u').

-- Setup, run before the slot was created (not in the capture):
CREATE TABLE audit_full (id integer, note text, amount numeric);
ALTER TABLE audit_full REPLICA IDENTITY FULL;
CREATE TABLE docs (id integer PRIMARY KEY, title text, body text);
CREATE PUBLICATION pub_identity_toast FOR TABLE audit_full, docs;

-- Workload, captured:
INSERT INTO audit_full VALUES (1, 'first', 10.5), (2, NULL, 20);
UPDATE audit_full SET note = 'changed' WHERE id = 1;
DELETE FROM audit_full WHERE id = 2;
INSERT INTO docs SELECT 1, 'big', string_agg(md5(i::text), '' ORDER BY i) FROM generate_series(1, 3200) i;
UPDATE docs SET title = 'renamed' WHERE id = 1;
UPDATE docs SET title = 'renamed again', body = body WHERE id = 1;
UPDATE docs SET body = 'small now' WHERE id = 1;
DELETE FROM docs WHERE id = 1;
