/*
 * dated: type 4's patterns, periods and rendering (see dated.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dated.h"

struct civil {
    int64_t year;
    int month, day, yday, hour, minute, second;
};

static struct civil civil_of(int64_t local)
{
    struct civil c;
    int64_t days = tz_floor_div(local, 86400), secs = local - days * 86400;
    tz_civil_from_days(days, &c.year, &c.month, &c.day);
    c.yday = (int)(days - tz_days_from_civil(c.year, 1, 1));
    c.hour = (int)(secs / 3600);
    c.minute = (int)(secs / 60 % 60);
    c.second = (int)(secs % 60);
    return c;
}

const char *dated_unit_name(enum dated_unit unit)
{
    switch (unit) {
    case DATED_HOUR: return "hour";
    case DATED_DAY: return "day";
    case DATED_MONTH: return "month";
    case DATED_YEAR: return "year";
    default: return "none";
    }
}

int dated_parse(const char *pattern, size_t len, enum dated_unit *unit, char *err, size_t errlen)
{
    bool year = false, month = false, day = false, yday = false, hour = false;

    if (len == 0 || len > DATED_PATTERN_MAX) {
        snprintf(err, errlen, "prefix must be a pattern of 1..%d bytes (e.g. %%y%%m%%d)", DATED_PATTERN_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = pattern[i];
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            continue;
        if (c != '%' || i + 1 == len) {
            snprintf(err, errlen, "prefix may hold %%Y %%y %%1y %%m %%d %%H %%j %%%% and letters and digits "
                     "(byte %zu is not one)", i + 1);
            return -1;
        }
        c = pattern[++i];
        switch (c) {
        case 'Y': case 'y': year = true; break;
        case 'm': month = true; break;
        case 'd': day = true; break;
        case 'j': yday = true; break;
        case 'H': hour = true; break;
        case '%': break;
        case '1':
            if (i + 1 < len && pattern[i + 1] == 'y') {
                year = true;
                i++;
                break;
            }
            /* fall through */
        default:
            snprintf(err, errlen, "prefix: unknown token at byte %zu (tokens: %%Y %%y %%1y %%m %%d %%H %%j %%%%)",
                     i);
            return -1;
        }
    }
    *unit = hour ? DATED_HOUR : (day || yday) ? DATED_DAY : month ? DATED_MONTH : year ? DATED_YEAR : DATED_NONE;
    if (*unit == DATED_NONE) {
        snprintf(err, errlen, "prefix has no date or time (%%Y %%y %%1y %%m %%d %%H %%j): numbers that "
                 "never restart are type 2 (fixed length) or type 3");
        return -1;
    }
    const char *missing = NULL;
    if (!year)
        missing = "the year (%Y, %y or %1y)";
    else if (*unit == DATED_HOUR && !yday && !(month && day))
        missing = (month || day) ? (month ? "the day (%d)" : "the month (%m)") : "the day (%m%d or %j)";
    else if (day && !month && !yday)
        missing = "the month (%m)";
    if (missing) {
        snprintf(err, errlen, "prefix does not name %s: its numbers would repeat while the counter "
                 "restarts each %s", missing, dated_unit_name(*unit));
        return -1;
    }
    return 0;
}

int64_t dated_period_of(enum dated_unit unit, int64_t local)
{
    struct civil c;

    switch (unit) {
    case DATED_HOUR:
        return tz_floor_div(local, 3600) * 3600;
    case DATED_DAY:
        return tz_floor_div(local, 86400) * 86400;
    case DATED_MONTH:
        c = civil_of(local);
        return tz_days_from_civil(c.year, c.month, 1) * 86400;
    case DATED_YEAR:
        c = civil_of(local);
        return tz_days_from_civil(c.year, 1, 1) * 86400;
    default:
        return local;
    }
}

int64_t dated_period_next(enum dated_unit unit, int64_t key)
{
    struct civil c;

    switch (unit) {
    case DATED_HOUR:
        return key + 3600;
    case DATED_DAY:
        return key + 86400;
    case DATED_MONTH:
        c = civil_of(key);
        return c.month == 12 ? tz_days_from_civil(c.year + 1, 1, 1) * 86400
                             : tz_days_from_civil(c.year, c.month + 1, 1) * 86400;
    case DATED_YEAR:
        c = civil_of(key);
        return tz_days_from_civil(c.year + 1, 1, 1) * 86400;
    default:
        return key + 1;
    }
}

int64_t dated_period_at(enum dated_unit unit, const struct tz *z, int64_t t)
{
    return dated_period_of(unit, t + tz_offset(z, t));
}

size_t dated_render(const char *pattern, int64_t key, int64_t value, int length, char *buf, size_t len)
{
    struct civil c = civil_of(key);
    int64_t y = c.year < 0 ? -c.year : c.year;
    size_t n = 0;
    char tmp[24];

    for (const char *p = pattern; *p; p++) {
        const char *piece = tmp;
        if (*p != '%') {
            tmp[0] = *p;
            tmp[1] = '\0';
        } else {
            p++;
            switch (*p) {
            case 'Y': snprintf(tmp, sizeof(tmp), "%04" PRId64, y % 10000); break;
            case 'y': snprintf(tmp, sizeof(tmp), "%02d", (int)(y % 100)); break;
            case '1': p++; snprintf(tmp, sizeof(tmp), "%d", (int)(y % 10)); break;
            case 'm': snprintf(tmp, sizeof(tmp), "%02d", c.month); break;
            case 'd': snprintf(tmp, sizeof(tmp), "%02d", c.day); break;
            case 'H': snprintf(tmp, sizeof(tmp), "%02d", c.hour); break;
            case 'j': snprintf(tmp, sizeof(tmp), "%03d", c.yday + 1); break;
            case '%': piece = "%"; break;
            default: return 0;     /* dated_parse refuses it */
            }
        }
        size_t l = strlen(piece);
        if (n + l >= len)
            return 0;
        memcpy(buf + n, piece, l);
        n += l;
    }
    int w = snprintf(buf + n, len - n, "%0*" PRId64, length, value);
    if (w < 0 || (size_t)w >= len - n)
        return 0;
    return n + (size_t)w;
}

void dated_iso8601(const struct tz *z, int64_t t, char *buf, size_t len)
{
    int32_t off = tz_offset(z, t);
    struct civil c = civil_of(t + off);
    int32_t a = off < 0 ? -off : off;
    snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day, c.hour,
             c.minute, c.second, off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
}
