/*
 * Shared tool helpers (see tools/tool-util.h).  Formats follow the output of
 * qemu-img and qemu-io 7.2, which scripts parse.
 */
#include "tool-util.h"

#include <ctype.h>
#include <errno.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "block/block-backend.h"
#include "kemu/error.h"
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

/* Whether s, which parse_size refused, is a number (hex after 0x, or decimal with an
 * optional fraction) with at most one size suffix whose value is too large for an
 * int64: qemu-io words that "argument too large" and anything else as no number. */
static bool tool_size_too_large(const char *s)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *p = hex ? s + 2 : s;
    const char *digits = p;
    while (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)) {
        p++;
    }
    if (p == digits) {
        return false;
    }
    if (!hex && *p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    int shift = 0;
    if (*p) {
        const char *suffixes = "BKMGTPE";
        const char *at = p[1] ? NULL : strchr(suffixes, toupper((unsigned char)*p));
        if (!at) {
            return false;
        }
        shift = 10 * (int)(at - suffixes);
    }
    char *num = g_strndup(s, p - s);
    double v = g_ascii_strtod(num, NULL);
    g_free(num);
    return ldexp(v, shift) >= 0x1p63;
}

int64_t tool_cvtnum(const char *s)
{
    uint64_t v;
    if (!s || !*s || s[0] == '-') {
        return -EINVAL;
    }
    if (!parse_size(s, &v)) {
        return tool_size_too_large(s) ? -ERANGE : -EINVAL;
    }
    return v > INT64_MAX ? -ERANGE : (int64_t)v;
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

struct timespec tool_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

void tool_getopt_error(int c, char **argv)
{
    extern int optind;
    const char *word = argv[optind - 1];
    if (c == ':') {
        error_report("missing argument for option '%s'", word);
    } else {
        error_report("unrecognized option '%s'", word);
    }
    fprintf(stderr, "Try '%s --help' for more information\n", error_get_progname());
}

bool tool_parse_cache(const char *mode, int *flags, bool *writethrough)
{
    if (bdrv_parse_cache_mode(mode, flags, writethrough) < 0) {
        error_report("Invalid cache option: %s", mode);
        return false;
    }
    return true;
}

bool tool_parse_aio(const char *mode, int *flags)
{
    if (bdrv_parse_aio(mode, flags) < 0) {
        error_report("Invalid aio option: %s", mode);
        return false;
    }
    return true;
}

bool tool_parse_discard(const char *mode, int *flags)
{
    if (!strcmp(mode, "ignore") || !strcmp(mode, "off")) {
        *flags &= ~BDRV_O_UNMAP;
    } else if (!strcmp(mode, "unmap") || !strcmp(mode, "on")) {
        *flags |= BDRV_O_UNMAP;
    } else {
        error_report("Invalid discard option: %s", mode);
        return false;
    }
    return true;
}

bool tool_parse_image_opts(const char *str, char **filename, char **fmt, char **errmsg)
{
    *filename = *fmt = *errmsg = NULL;
    if (!strchr(str, '=')) {
        /* qemu-img takes a bare word as the name of an existing node. */
        *errmsg = g_strdup_printf("Cannot find device='%s' nor node-name='%s'", str, str);
        return false;
    }
    Error *err = NULL;
    Opts *o = opts_parse(str, NULL, &err);
    if (!o) {
        *errmsg = g_strdup(error_get_pretty(err));
        error_free(err);
        return false;
    }
    const char *driver = opts_get(o, "driver");
    const char *file = opts_get(o, "file.filename");
    const char *proto = opts_get(o, "file.driver");
    const char *plain = opts_get(o, "filename");
    const char *bad = NULL;
    bool bad_file = false;
    for (size_t i = 0; i < opts_count(o) && !bad; i++) {
        const char *k = opts_key_at(o, i);
        if (!strcmp(k, "driver") || !strcmp(k, "file.filename") || !strcmp(k, "file.driver") ||
            !strcmp(k, "filename")) {
            continue;
        }
        bad = k;
        bad_file = g_str_has_prefix(k, "file.");
    }
    if (driver && !bdrv_find_format(driver)) {
        *errmsg = g_strdup_printf("Unknown driver '%s'", driver);
    } else if (proto && strcmp(proto, "file") != 0) {
        *errmsg = g_strdup_printf("Unknown protocol driver '%s'", proto);
    } else if (bad && bad_file) {
        *errmsg = g_strdup_printf("Block protocol 'file' doesn't support the option '%s'",
                                  bad + 5);
    } else if (bad) {
        *errmsg = g_strdup_printf("Block format '%s' does not support the option '%s'",
                                  driver ? driver : "qcow2", bad);
    } else if (!driver && !file) {
        *errmsg = g_strdup("Must specify either driver or file");
    } else if (!file && !plain) {
        *errmsg = g_strdup("A block device must be specified for \"file\"");
    } else {
        *filename = g_strdup(file ? file : plain);
        *fmt = g_strdup(driver);
    }
    opts_free(o);
    return *errmsg == NULL;
}

void tool_print_format_info(const BlockDriverInfo *bdi)
{
    if (!bdi->has_qcow2_info) {
        return;
    }
    bool v3 = bdi->qcow_version >= 3;
    printf("Format specific information:\n");
    printf("    compat: %s\n", v3 ? "1.1" : "0.10");
    printf("    compression type: %s\n", bdi->compression_type);
    if (v3) {
        printf("    lazy refcounts: %s\n", bdi->lazy_refcounts ? "true" : "false");
    }
    printf("    refcount bits: %d\n", bdi->refcount_bits);
    if (bdi->data_file) {
        printf("    data file: %s\n", bdi->data_file);
    }
    if (bdi->has_data_file) {
        printf("    data file raw: %s\n", bdi->data_file_raw ? "true" : "false");
    }
    if (v3) {
        printf("    corrupt: %s\n", bdi->corrupt ? "true" : "false");
        printf("    extended l2: %s\n", bdi->extended_l2 ? "true" : "false");
    }
}
