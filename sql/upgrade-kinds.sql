-- Add the columns of types 4 (dated numbers) and 5 (snowflake ids) to a
-- seqd table made by an older sql/schema.sql, whose seqd columns end at
-- `auto_disk` (or at `epoch`, the schema of the first type 5 release).
--
--   mysql seqd < sql/upgrade-kinds.sql
--
-- for the table `seqd_segments`; for another one (a Leaf or FeatherID
-- table that an earlier upgrade-from-*.sql gave seqd's columns), name it
-- first:
--
--   mysql seqd -e "SET @seqd_table = 'leaf_alloc'; SOURCE sql/upgrade-kinds.sql"
--
-- Until then seqd serves such a table with types 1 to 3 (and refuses to
-- create a type 4 or 5 sequence, pointing here); a table with only some
-- of the four columns does not start. Every existing row keeps its kind:
-- the defaults (epoch 0, prefix and tz '', period 0) are what kinds 1 to 3
-- hold. Restart the seqd nodes afterwards: they detect the columns at
-- start-up. The columns need no grant beyond the table's.
--
-- Safe to run again: one ALTER TABLE adds the columns the table lacks
-- (information_schema decides; a second run finds none and changes
-- nothing). On MariaDB 10.3+ and MySQL 8.0.12+ it is an instant change (no
-- table copy).

SET @seqd_table = IFNULL(@seqd_table, 'seqd_segments');

-- The four columns as sql/schema.sql declares them, in its order.
SET @seqd_sql = (
    SELECT CONCAT('ALTER TABLE `', REPLACE(@seqd_table, '`', '``'), '` ',
                  GROUP_CONCAT('ADD COLUMN ', wanted.definition ORDER BY wanted.position SEPARATOR ', '))
      FROM (SELECT 1 AS position, 'epoch' AS name,
                   '`epoch` BIGINT NOT NULL DEFAULT 0 COMMENT ''kind 5 (snowflake ids): Unix ms of the ids'''' time 0; 0 for the others''' AS definition
            UNION ALL SELECT 2, 'prefix',
                   '`prefix` VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '''' COMMENT ''kind 4 (dated numbers): the PATTERN, e.g. %y%m%d; empty for the others'''
            UNION ALL SELECT 3, 'tz',
                   '`tz` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '''' COMMENT ''kind 4: the IANA zone the PATTERN is rendered in; empty for the others'''
            UNION ALL SELECT 4, 'period',
                   '`period` BIGINT NOT NULL DEFAULT 0 COMMENT ''kind 4: the period max_id counts in (its start as local seconds); 0: none yet''') AS wanted
     WHERE wanted.name NOT IN (SELECT COLUMN_NAME FROM information_schema.COLUMNS
                                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @seqd_table));
-- Nothing missing: GROUP_CONCAT of no rows is NULL, and so is the ALTER.
SET @seqd_sql = IFNULL(@seqd_sql, 'DO 0');
PREPARE seqd_stmt FROM @seqd_sql;
EXECUTE seqd_stmt;
DEALLOCATE PREPARE seqd_stmt;

-- What the table has now: four rows, epoch, prefix, tz, period.
SELECT COLUMN_NAME AS added_or_present FROM information_schema.COLUMNS
 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @seqd_table
   AND COLUMN_NAME IN ('epoch', 'prefix', 'tz', 'period') ORDER BY ORDINAL_POSITION;
