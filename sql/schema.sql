-- seqd's shared table: every seqd node (and any Meituan Leaf node) that
-- points at this table serves the same sequences without ever handing out
-- a number twice.
--
--   mysql seqd < sql/schema.sql
--
-- The first five columns are Leaf's, unchanged, so a Leaf-shaped row works:
-- `INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('msg', 1, 1000)`
-- is a plain increasing sequence whose first number is 1. seqd's own
-- columns follow, with defaults that mean exactly that.
--
-- max_id is the next counter nobody has claimed: a claim of n takes
-- [max_id, max_id + n) and adds n in the same transaction. Number = counter
-- for kind 3 with starting 0 and increment 1; see sql/README.md for the
-- other kinds.

CREATE TABLE IF NOT EXISTS `seqd_segments` (
    -- Leaf's columns
    `biz_tag`     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                  COMMENT 'sequence name: printable ASCII, no spaces, case-sensitive',
    `max_id`      BIGINT NOT NULL DEFAULT 1
                  COMMENT 'next unclaimed counter',
    `step`        INT NOT NULL
                  COMMENT 'base segment size: counters claimed at a time, at least',
    `description` VARCHAR(256) DEFAULT '',
    `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    -- seqd's columns
    `kind`        TINYINT NOT NULL DEFAULT 3
                  COMMENT '1 random-looking fixed length, 2 fixed length, 3 increasing',
    `length`      TINYINT NOT NULL DEFAULT 0
                  COMMENT 'digits, kinds 1 and 2; 0 for kind 3',
    `starting`    BIGINT NOT NULL DEFAULT 0
                  COMMENT 'number of counter 0 (kinds 2 and 3)',
    `increment`   BIGINT NOT NULL DEFAULT 1
                  COMMENT 'difference between consecutive numbers (HSET step)',
    `perm_key`    BIGINT UNSIGNED NOT NULL DEFAULT 0
                  COMMENT 'kind 1: permutation key, the same on every node',
    `auto_disk`   VARCHAR(16) NOT NULL DEFAULT ''
                  COMMENT 'Number Dispenser auto_disk value, kept for INFO',
    -- the columns of kinds 4 and 5 (sql/upgrade-kinds.sql adds them to a
    -- table made before them)
    `epoch`       BIGINT NOT NULL DEFAULT 0
                  COMMENT 'kind 5 (snowflake ids): Unix ms of the ids'' time 0; 0 for the others',
    `prefix`      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''
                  COMMENT 'kind 4 (dated numbers): the PATTERN, e.g. %y%m%d; empty for the others',
    `tz`          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''
                  COMMENT 'kind 4: the IANA zone the PATTERN is rendered in; empty for the others',
    `period`      BIGINT NOT NULL DEFAULT 0
                  COMMENT 'kind 4: the period max_id counts in (its start as local seconds); 0: none yet',
    PRIMARY KEY (`biz_tag`),
    -- seqd's rescans read the rows whose definition changed since the last
    -- one (claims leave update_time alone); for a table made without it:
    -- ALTER TABLE seqd_segments ADD INDEX seqd_update_time (update_time)
    KEY `seqd_update_time` (`update_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Type 5 (snowflake ids): the worker ids nodes lease, one row per id in
-- use (rows are made as ids are first leased). Times are the database's
-- clock in Unix ms (lease_until_ms); reserved_ms is the node's clock: the
-- highest timestamp any id of this worker id may have, reserved ahead of
-- time, so a later holder (or a restart) makes only later ids.
-- A lease is taken over only 2000 ms after lease_until_ms (clock skew).
CREATE TABLE IF NOT EXISTS `seqd_workers` (
    `worker_id`      SMALLINT UNSIGNED NOT NULL
                     COMMENT '0..1023, the 10 worker bits of a snowflake id',
    `holder`         VARCHAR(255) NOT NULL DEFAULT ''
                     COMMENT 'the node that leased it: host:port pid N',
    `generation`     BIGINT UNSIGNED NOT NULL DEFAULT 0
                     COMMENT 'fencing: +1 at every lease; a renewal names the one it holds',
    `lease_until_ms` BIGINT UNSIGNED NOT NULL DEFAULT 0
                     COMMENT 'the lease ends (database clock, Unix ms); 0: free',
    `reserved_ms`    BIGINT UNSIGNED NOT NULL DEFAULT 0
                     COMMENT 'highest timestamp (Unix ms) its ids may have',
    `update_time`    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (`worker_id`)
) ENGINE=InnoDB;

-- What seqd records about the database itself: the row 'claims_server'
-- names the server the claims are made on (a Galera cluster's uuid,
-- MySQL's server_uuid, or MariaDB's server_id@host:port). A seqd
-- connection that finds itself on another server (a replica promoted by a
-- failover, which may lack the newest claims) moves every sequence forward
-- by store.mysql.failover_gap first and records the new server, in one
-- transaction; each such fence adds a row 'fence <time>' saying what it
-- did. See docs/reliability.md. Without this table seqd serves as before
-- but would not notice a failover (it says so in its log).
CREATE TABLE IF NOT EXISTS `seqd_meta` (
    `meta_key`    VARCHAR(64) NOT NULL COMMENT 'claims_server, or fence <time> for the history',
    `meta_value`  VARCHAR(255) NOT NULL DEFAULT '',
    `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (`meta_key`)
) ENGINE=InnoDB;
