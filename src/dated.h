/*
 * dated: the arithmetic of type 4, dated numbers that restart each period.
 * Pure: no I/O, no globals (a zone comes in as a parsed struct tz).
 *
 * A number is the definition's prefix PATTERN rendered for its period,
 * followed by the period's counter value zero-padded to `length` digits:
 * `%y%m%d` with length 4 gives 2612020001, 2612020002, ...
 *
 * Pattern tokens: %Y (year, 4 digits), %y (2 digits), %1y (the last digit
 * of the year: id_server's `now:year()%10`), %m, %d, %H (2 digits), %j
 * (day of the year, 3 digits), %%; and literal ASCII letters and digits.
 * The period is the finest unit present: %H an hour; %d or %j a day; %m a
 * month; a year token a year. The pattern must name every coarser unit too
 * (%H needs a year and %j or %m%d; %d needs a year and %m; %m needs a
 * year), since a period whose prefix repeats would restart its counter on
 * numbers already handed out; a year token is enough even though %y and
 * %1y themselves repeat after 100 and 10 years (as id_server's do).
 *
 * A period is named by its key: the wall-clock time of its start in the
 * sequence's zone, as seconds since 1970-01-01T00:00 of that wall clock
 * (what timegm() gives for the local date; for UTC it is Unix time).
 * Keys increase with time, never depend on a DST offset, and render
 * without the zone; every node of a definition computes the same key.
 */
#ifndef SEQD_DATED_H
#define SEQD_DATED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define DATED_PATTERN_MAX 32        /* bytes of a prefix PATTERN */
/* Longest number text: a pattern of 32 bytes renders to at most 64 (%Y is
 * two bytes for four), then 18 digits, NUL. */
#define DATED_TEXT_MAX 96

enum dated_unit { DATED_NONE = 0, DATED_HOUR, DATED_DAY, DATED_MONTH, DATED_YEAR };

/* Check a pattern; *unit is its period's unit. Returns 0, or -1 with a
 * message for "-ERR <msg>" in err. */
int dated_parse(const char *pattern, size_t len, enum dated_unit *unit, char *err, size_t errlen);

/* The key of the period that wall-clock time `local` falls in. */
int64_t dated_period_of(enum dated_unit unit, int64_t local);
/* The key of the period after the one with key `key`. */
int64_t dated_period_next(enum dated_unit unit, int64_t key);
/* The key of the period that instant t (Unix seconds) falls in, in zone z. */
int64_t dated_period_at(enum dated_unit unit, const struct tz *z, int64_t t);

/* The pattern rendered for the period `key`, then value zero-padded to
 * length digits (0 <= value < 10^length). Returns the length written
 * (NUL-terminated), or 0 when it does not fit in len bytes. */
size_t dated_render(const char *pattern, int64_t key, int64_t value, int length, char *buf, size_t len);

/* Instant t as ISO 8601 with its offset in zone z: "2026-12-03T00:00:00+08:00". */
void dated_iso8601(const struct tz *z, int64_t t, char *buf, size_t len);

/* The unit's name for INFO: "hour", "day", "month", "year". */
const char *dated_unit_name(enum dated_unit unit);

#endif
