/*
 * tz: the UTC offset of an IANA time zone at any instant, without the
 * process-wide TZ variable (setenv("TZ") + localtime_r would change the
 * zone of every thread, log.c's timestamps included).
 *
 * A zone is read from its TZif file (RFC 8536: /usr/share/zoneinfo/NAME):
 * the 64-bit data of version 2 and later (version 1 files: their 32-bit
 * data), and the POSIX TZ string of the footer for instants after the
 * last transition. Leap-second records are ignored (the "right/" zones
 * are not civil time).
 *
 * tz_parse, tz_offset and tz_local_to_utc are pure. tz_get reads a file
 * once per name and keeps the zone for the life of the process (a small
 * locked list): a sequence definition names its zone, and every node and
 * worker then shares one parsed copy.
 */
#ifndef SEQD_TZ_H
#define SEQD_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64
#define TZ_DIR "/usr/share/zoneinfo"

struct tz;

/* Parse a TZif file's bytes. Returns the zone (free with tz_free), or NULL
 * with the reason in err. */
struct tz *tz_parse(const unsigned char *data, size_t len, char *err, size_t errlen);
/* Parse a POSIX TZ string ("CST-8", "EST5EDT,M3.2.0,M11.1.0"): a zone
 * that only has that rule. NULL with err when it is not one. */
struct tz *tz_parse_posix(const char *s, char *err, size_t errlen);
void tz_free(struct tz *z);

/* The zone's offset from UTC at Unix time t, in seconds east of UTC
 * (Asia/Shanghai: 28800). */
int32_t tz_offset(const struct tz *z, int64_t t);

/* The first instant whose local time is `local` or later, local being
 * wall-clock seconds since 1970-01-01T00:00 in the zone: the instant a
 * local time begins. In a gap (a spring-forward hour) that is the
 * transition; in an overlap, the earlier of the two. */
int64_t tz_local_to_utc(const struct tz *z, int64_t local);

/* Proleptic Gregorian dates <-> days since 1970-01-01 (one copy of the
 * calendar, for dated.c too). floor_div rounds towards minus infinity. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int64_t tz_floor_div(int64_t a, int64_t b);

/* Is this a name tz_get could look up (letters, digits, '/', '_', '-',
 * '+', no "..", no leading '/', at most TZ_NAME_MAX bytes)? */
bool tz_name_ok(const char *name);

/* The zone called `name` ("UTC", "Asia/Shanghai"), loaded from TZ_DIR the
 * first time and kept; "UTC" works without the file too. Thread-safe.
 * NULL with a message for the user in err when there is no such zone. */
const struct tz *tz_get(const char *name, char *err, size_t errlen);

#endif
