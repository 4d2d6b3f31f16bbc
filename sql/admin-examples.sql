-- Managing seqd's sequences directly in MySQL. Every running seqd node
-- serves a row inserted here on the first GET (a look-up on a miss) and
-- notices changes at its next rescan (store.mysql.rescan_s).
--
-- This script runs start to finish on a table made with schema.sql (and
-- after the README's 'msg' row, which it leaves alone): its sequences are
-- named example_*, it makes them, changes them, looks at them and retires
-- them again, so it can be run more than once:
--
--   mysql seqd < sql/admin-examples.sql
--
-- `starting` is a reserved word in MySQL and MariaDB: keep the backticks.
--
-- Rules that keep numbers unique:
--   * max_id only ever grows while nodes run (seqd adds to it when it
--     claims a segment). Never lower it: numbers would repeat.
--   * Do not change kind, length, starting, increment or perm_key of a row
--     in use: nodes would compute different numbers from the same counters.
--     Create a new sequence instead.

-- A plain increasing sequence, Leaf style: 1, 2, 3, ...
INSERT INTO seqd_segments (biz_tag, max_id, step, description)
VALUES ('example_msg', 1, 1000, 'message ids');

-- Type 3, increasing from 1000 by 5: 1000, 1005, 1010, ...
-- (max_id 0 is the first counter; number = starting + counter * increment)
INSERT INTO seqd_segments (biz_tag, max_id, step, kind, `starting`, `increment`)
VALUES ('example_order_id', 0, 1000, 3, 1000, 5);

-- Type 2, fixed length: 8-digit numbers from 10000000, by 1, until 99999999.
INSERT INTO seqd_segments (biz_tag, max_id, step, kind, `length`, `starting`, `increment`)
VALUES ('example_invoice_no', 0, 1000, 2, 8, 10000000, 1);

-- Type 1, random-looking: every 10-digit number once, in an order that
-- cannot be guessed. The key must be random and must never change.
INSERT INTO seqd_segments (biz_tag, max_id, step, kind, `length`, perm_key)
VALUES ('example_coupon', 0, 1000, 1, 10,
        CAST(CONV(SUBSTRING(SHA2(UUID(), 256), 1, 16), 16, 10) AS UNSIGNED));

-- Claim bigger segments (fewer round trips under heavy traffic). Nodes use
-- it from their next claim; seqd may still claim more when traffic is high.
UPDATE seqd_segments SET step = 5000 WHERE biz_tag = 'example_msg';

-- Skip ahead (safe: max_id only grows).
UPDATE seqd_segments SET max_id = max_id + 1000000 WHERE biz_tag = 'example_msg';

-- Look at the sequences and the next number each will hand out (kinds 2, 3).
SELECT biz_tag, kind, `length`, `starting`, `increment`, step, max_id,
       `starting` + max_id * `increment` AS next_unclaimed_number,
       description, update_time
FROM seqd_segments ORDER BY biz_tag;

-- Retire a sequence. Each node stops serving it at its next rescan or at
-- its next claim, whichever comes first. (DEL through any node does the
-- same at once for that node.) Here the examples retire themselves, so
-- that the script can run again.
DELETE FROM seqd_segments WHERE biz_tag IN
    ('example_msg', 'example_order_id', 'example_invoice_no', 'example_coupon');
