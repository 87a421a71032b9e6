-- pgoutput fixture origin.bin, captured by io.pgactive.decode.CaptureFixtures from PostgreSQL 15
-- with proto_version '1', messages 'true', publication_names 'pub_origin', session TimeZone UTC.
-- Transactions written under replication origin pgactive_x, with and without pg_replication_origin_xact_setup, between local ones.

-- Setup, run before the slot was created (not in the capture):
CREATE TABLE replicated (id integer PRIMARY KEY, v text);
CREATE PUBLICATION pub_origin FOR TABLE replicated;
SELECT pg_replication_origin_create('pgactive_x');

-- Workload, captured:
INSERT INTO replicated VALUES (1, 'local');
SELECT pg_replication_origin_session_setup('pgactive_x');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/ABCDEF01', '2020-01-02 03:04:05.678901+00');
INSERT INTO replicated VALUES (2, 'from x');
COMMIT;
INSERT INTO replicated VALUES (3, 'from x without xact setup');
SELECT pg_replication_origin_session_reset();
INSERT INTO replicated VALUES (4, 'local again');
