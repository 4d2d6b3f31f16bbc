-- Add seqd's columns to a FeatherID `id_segments` table, so that seqd serves
-- it, and move every existing sequence past what FeatherID handed out.
--
--   stop every FeatherID node first, then
--   mysql id_service < sql/upgrade-from-featherid.sql
--
-- then point seqd at it: "store": {"type": "mysql", "mysql": {"table": "id_segments", ...}}.
--
-- How FeatherID reads max_id. Its README calls max_id "the current maximum
-- id" and creates rows with max_id 0; a claim adds step to max_id under a
-- row lock. So when max_id = M, FeatherID has handed out numbers up to M
-- (M itself included), and its next claim starts at M + 1. seqd reads max_id
-- as the next counter, so the script gives these rows `starting` 1: counter
-- c is the number c + 1, and seqd's next number on a row at M is M + 1, just
-- where FeatherID would have gone on. A row inserted the FeatherID way later
-- (`INSERT ... (biz_tag, max_id, step) VALUES ('x', 0, 1000)`) gets the same
-- default and starts at 1, as it would in FeatherID.
--
-- We know FeatherID from its README, not its code. To be safe if its code
-- hands out more than the README says, the script also moves every existing
-- row on by one step (the numbers max_id + 1 .. max_id + step are never
-- handed out by anyone): seqd's first number on a row that FeatherID left at
-- M with step S is M + S + 1. That costs one step of numbers per sequence.
--
-- Do not run FeatherID and seqd on the table side by side: if FeatherID's
-- code reads max_id as the next free id (Leaf's way), the two would overlap
-- by one number at each of seqd's claims. After this script FeatherID may
-- not even start on the table (a `SELECT *` into a struct meets the new
-- columns). Keep a dump (mysqldump id_service id_segments) to go back.
--
-- Run it once. The ALTER comes first, so a second run stops at
-- "Duplicate column name" before it moves max_id again. On MariaDB 10.3+
-- and MySQL 8.0.12+ the ALTER is an instant change (no table copy).

ALTER TABLE `id_segments`
    ADD COLUMN `description` VARCHAR(256) DEFAULT '' AFTER `step`,
    ADD COLUMN `kind`      TINYINT NOT NULL DEFAULT 3,
    ADD COLUMN `length`    TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN `starting`  BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN `increment` BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN `perm_key`  BIGINT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN `auto_disk` VARCHAR(16) NOT NULL DEFAULT '',
    ADD COLUMN `epoch`     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `prefix`    VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN `tz`        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN `period`    BIGINT NOT NULL DEFAULT 0;

UPDATE `id_segments` SET `max_id` = `max_id` + `step`;
