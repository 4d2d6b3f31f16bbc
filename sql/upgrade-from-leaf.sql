-- Add seqd's columns to a Meituan Leaf table, so that seqd can store every
-- kind of sequence in it. Leaf keeps working beside seqd: it names the
-- columns it reads, and the new ones have defaults, so every existing row
-- stays a plain increasing sequence (kind 3, starting 0, increment 1)
-- whose next number is its max_id, for Leaf and seqd alike.
--
--   mysql leaf < sql/upgrade-from-leaf.sql
--
-- then point seqd at it: "store": {"type": "mysql", "mysql": {"table": "leaf_alloc", ...}}.
-- Without this upgrade seqd still serves leaf_alloc as it is, but can only
-- create type 3 sequences with starting 0 and step 1 in it.
--
-- On MariaDB 10.3+ and MySQL 8.0.12+ this is an instant change (no table
-- copy). Run it once; a second run stops at "Duplicate column name".
-- Restart the seqd nodes afterwards: they detect the columns at start-up.

ALTER TABLE `leaf_alloc`
    ADD COLUMN `kind`      TINYINT NOT NULL DEFAULT 3,
    ADD COLUMN `length`    TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN `starting`  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `increment` BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN `perm_key`  BIGINT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN `auto_disk` VARCHAR(16) NOT NULL DEFAULT '',
    ADD COLUMN `epoch`     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `prefix`    VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN `tz`        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN `period`    BIGINT NOT NULL DEFAULT 0;
