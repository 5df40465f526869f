-- Evidence reads, per database, its newest drill, its newest finished drill and its
-- newest good one (newest started first, ties broken by id). With the id and the state
-- in the index each of those is a short backward walk of the index, without a sort or
-- a table read per database: the snapshot's evidence for 10k databases went from about
-- 450 ms to about 120 ms. It replaces drills_database, which is its prefix.
CREATE INDEX drills_newest ON drills (database_id, started_at, id, state);
DROP INDEX drills_database;
