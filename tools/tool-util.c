/*
 * Shared tool helpers (see tools/tool-util.h).  Formats follow the output of
 * qemu-img and qemu-io 7.2, which scripts parse.
 */
#include "tool-util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "kemu/option.h"

void tool_cvtstr(double value, char *str, size_t size)
{
    static const char *const suffixes[] = { " EiB", " PiB", " TiB", " GiB", " MiB", " KiB" };
    const char *suffix = " bytes";
    for (int i = 0; i < 6; i++) {
        double unit = ldexp(1.0, 10 * (6 - i));
        if (value >= unit) {
            suffix = suffixes[i];
            value /= unit;
            break;
        }
    }
    snprintf(str, size - 6, "%.3f", value);
    char *trim = strstr(str, ".000");
    if (trim) {
        strcpy(trim, suffix);
    } else {
        strcat(str, suffix);
    }
}

char *tool_size_to_str(uint64_t val)
{
    static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int i;
    /* Switch to the next unit once the integer part would reach 1000. */
    frexp(val / (1000.0 / 1024.0), &i);
    i = (i - 1) / 10;
    if (i < 0) {
        i = 0;
    }
    uint64_t div = 1ULL << (i * 10);
    return g_strdup_printf("%0.3g %sB", (double)val / div, suffixes[i]);
}

void tool_timestr(const struct timespec *t, char *ts, size_t size)
{
    double frac = t->tv_nsec / 1e9;
    if (t->tv_sec) {
        snprintf(ts, size, "%u:%02u:%05.2f", (unsigned)(t->tv_sec / 3600),
                 (unsigned)((t->tv_sec % 3600) / 60), (double)(t->tv_sec % 60) + frac);
    } else {
        snprintf(ts, size, "%05.2f sec", frac);
    }
}

int64_t tool_cvtnum(const char *s)
{
    uint64_t v;
    if (!s || !*s || s[0] == '-') {
        return -1;
    }
    if (!parse_size(s, &v) || v > INT64_MAX) {
        return -1;
    }
    return (int64_t)v;
}

struct timespec tool_tsub(struct timespec a, struct timespec b)
{
    struct timespec r = { a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec };
    if (r.tv_nsec < 0) {
        r.tv_sec--;
        r.tv_nsec += 1000000000;
    }
    return r;
}

double tool_tdiv(double value, struct timespec t)
{
    double secs = t.tv_sec + t.tv_nsec / 1e9;
    return secs > 0 ? value / secs : 0.0;
}
