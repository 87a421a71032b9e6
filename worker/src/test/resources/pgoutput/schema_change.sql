-- pgoutput fixture schema_change.bin, captured by io.pgactive.decode.CaptureFixtures from PostgreSQL 15
-- with proto_version '1', messages 'true', publication_names 'pub_schema_change', session TimeZone UTC.
-- An enum and a domain column (Type messages), then ADD COLUMN, DROP COLUMN and a generated column between inserts (a new Relation message each time).

-- Setup, run before the slot was created (not in the capture):
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE people (id integer PRIMARY KEY, name text, feeling mood, score positive_int);
CREATE PUBLICATION pub_schema_change FOR TABLE people;

-- Workload, captured:
INSERT INTO people VALUES (1, 'ann', 'happy', 5);
ALTER TABLE people ADD COLUMN nickname text DEFAULT 'none';
INSERT INTO people VALUES (2, 'bob', 'sad', 7, 'bobby');
ALTER TABLE people DROP COLUMN score;
INSERT INTO people VALUES (3, 'cy', 'ok', 'c');
ALTER TABLE people ADD COLUMN total integer GENERATED ALWAYS AS (id * 10) STORED;
INSERT INTO people (id, name) VALUES (4, 'dee');
UPDATE people SET feeling = 'ok' WHERE id = 1;
