/*
 * QemuOpts-style "key=value,..." option strings (see include/kemu/option.h).
 * Syntax follows QEMU's documented command-line conventions: ",," escapes a
 * comma, the first element may omit its key, sizes take k/M/G/T/P/E suffixes.
 */
#include "kemu/option.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

typedef struct OptsPair {
    char *key;
    char *value;
} OptsPair;

struct Opts {
    GPtrArray *pairs; /* of OptsPair* */
};

static void opts_pair_free(gpointer p)
{
    OptsPair *pair = p;
    g_free(pair->key);
    g_free(pair->value);
    g_free(pair);
}

Opts *opts_new(void)
{
    Opts *o = g_new0(Opts, 1);
    o->pairs = g_ptr_array_new_with_free_func(opts_pair_free);
    return o;
}

void opts_free(Opts *opts)
{
    if (opts) {
        g_ptr_array_free(opts->pairs, TRUE);
        g_free(opts);
    }
}

Opts *opts_copy(const Opts *opts)
{
    Opts *c = opts_new();
    for (guint i = 0; i < opts->pairs->len; i++) {
        OptsPair *p = g_ptr_array_index(opts->pairs, i);
        opts_set(c, p->key, p->value);
    }
    return c;
}

void opts_set(Opts *opts, const char *key, const char *value)
{
    OptsPair *p = g_new0(OptsPair, 1);
    p->key = g_strdup(key);
    p->value = g_strdup(value);
    g_ptr_array_add(opts->pairs, p);
}

bool opts_del(Opts *opts, const char *key)
{
    bool found = false;
    for (guint i = opts->pairs->len; i-- > 0;) {
        OptsPair *p = g_ptr_array_index(opts->pairs, i);
        if (!strcmp(p->key, key)) {
            g_ptr_array_remove_index(opts->pairs, i);
            found = true;
        }
    }
    return found;
}

static const OptsPair *opts_find(const Opts *opts, const char *key)
{
    if (!opts) {
        return NULL; /* an absent option string has no keys */
    }
    for (guint i = opts->pairs->len; i-- > 0;) {
        const OptsPair *p = g_ptr_array_index(opts->pairs, i);
        if (!strcmp(p->key, key)) {
            return p;
        }
    }
    return NULL;
}

bool opts_has(const Opts *opts, const char *key)
{
    return opts_find(opts, key) != NULL;
}

const char *opts_get(const Opts *opts, const char *key)
{
    const OptsPair *p = opts_find(opts, key);
    return p ? p->value : NULL;
}

size_t opts_count(const Opts *opts)
{
    return opts->pairs->len;
}

const char *opts_key_at(const Opts *opts, size_t i)
{
    return ((OptsPair *)g_ptr_array_index(opts->pairs, i))->key;
}

const char *opts_value_at(const Opts *opts, size_t i)
{
    return ((OptsPair *)g_ptr_array_index(opts->pairs, i))->value;
}

/* Read one element up to an unescaped ',' (or, when stop_at_eq, an '=').
 * Returns the unescaped text; *pp is left at the terminator. */
static char *opts_scan(const char **pp, bool stop_at_eq)
{
    GString *s = g_string_new(NULL);
    const char *p = *pp;
    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(s, ',');
                p += 2;
                continue;
            }
            break;
        }
        if (stop_at_eq && *p == '=') {
            break;
        }
        g_string_append_c(s, *p++);
    }
    *pp = p;
    return g_string_free(s, FALSE);
}

Opts *opts_parse(const char *str, const char *implied_key, Error **errp)
{
    Opts *o = opts_new();
    const char *p = str;
    bool first = true;

    if (!str) {
        return o;
    }
    while (*p) {
        const char *start = p;
        char *key = opts_scan(&p, true);
        if (*p == '=') {
            p++;
            char *value = opts_scan(&p, false);
            if (!*key) {
                error_setg(errp, "Invalid parameter ''");
                g_free(key);
                g_free(value);
                opts_free(o);
                return NULL;
            }
            opts_set(o, key, value);
            g_free(value);
        } else if (first && implied_key) {
            /* Re-scan as a value: it may contain '=' only if escaped; none here. */
            p = start;
            char *value = opts_scan(&p, false);
            opts_set(o, implied_key, value);
            g_free(value);
        } else if (*key) {
            /* Legacy boolean shorthand: "key" means key=on, "nokey" is not expanded
             * because QEMU deprecates it; callers treat unknown keys as errors. */
            opts_set(o, key, "on");
        }
        g_free(key);
        first = false;
        if (*p == ',') {
            p++;
        }
    }
    return o;
}

bool opts_str_is_help(const char *str)
{
    return str && (!strcmp(str, "help") || !strcmp(str, "?"));
}

bool opts_wants_help(const Opts *opts)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        const OptsPair *p = g_ptr_array_index(opts->pairs, i);
        if (opts_str_is_help(p->key) || (i == 0 && opts_str_is_help(p->value))) {
            return true;
        }
    }
    return false;
}

bool opts_check_keys(const Opts *opts, const char *const *known, Error **errp)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        const OptsPair *p = g_ptr_array_index(opts->pairs, i);
        bool ok = false;
        for (const char *const *k = known; *k; k++) {
            if (!strcmp(*k, p->key)) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            error_setg(errp, "Invalid parameter '%s'", p->key);
            return false;
        }
    }
    return true;
}

char *opts_to_string(const Opts *opts)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < opts->pairs->len; i++) {
        const OptsPair *p = g_ptr_array_index(opts->pairs, i);
        if (i) {
            g_string_append_c(s, ',');
        }
        g_string_append(s, p->key);
        g_string_append_c(s, '=');
        for (const char *c = p->value; *c; c++) {
            if (*c == ',') {
                g_string_append_c(s, ',');
            }
            g_string_append_c(s, *c);
        }
    }
    return g_string_free(s, FALSE);
}

bool parse_bool(const char *key, const char *str, bool *out, Error **errp)
{
    if (!strcmp(str, "on") || !strcmp(str, "yes") || !strcmp(str, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(str, "off") || !strcmp(str, "no") || !strcmp(str, "false")) {
        *out = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
    return false;
}

bool parse_uint(const char *str, uint64_t *out)
{
    char *end;
    if (!str || !*str || *str == '-' || isspace((unsigned char)*str)) {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(str, &end, 0);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

static int size_suffix_shift(char c)
{
    switch (toupper((unsigned char)c)) {
    case 'B':
        return 0;
    case 'K':
        return 10;
    case 'M':
        return 20;
    case 'G':
        return 30;
    case 'T':
        return 40;
    case 'P':
        return 50;
    case 'E':
        return 60;
    default:
        return -1;
    }
}

bool parse_size_unit(const char *str, unsigned default_unit_shift, uint64_t *out)
{
    char *end;
    int shift;

    if (!str || !*str || *str == '-' || isspace((unsigned char)*str)) {
        return false;
    }
    /* Hex numbers take no fraction and no suffix except 'B'-less units, as QEMU. */
    if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X')) {
        errno = 0;
        unsigned long long v = strtoull(str, &end, 16);
        if (errno || end == str + 2) {
            return false;
        }
        if (*end == '\0') {
            shift = default_unit_shift;
        } else if (end[1] == '\0' && (shift = size_suffix_shift(*end)) >= 0) {
            /* suffix accepted */
        } else {
            return false;
        }
        if (shift && v > (UINT64_MAX >> shift)) {
            return false;
        }
        *out = (uint64_t)v << shift;
        return true;
    }

    errno = 0;
    unsigned long long whole = strtoull(str, &end, 10);
    if (errno || end == str) {
        return false;
    }
    /* A fraction ("1.5k", also "1." and "1.k" as QEMU reads them) is rounded to
     * the nearest byte, but a fraction of a plain byte count is no size. */
    double frac = 0;
    if (*end == '.') {
        const char *f = end;
        end++;
        while (isdigit((unsigned char)*end)) {
            end++;
        }
        char *tmp = g_strndup(f, end - f);
        frac = end - f > 1 ? g_ascii_strtod(tmp, NULL) : 0;
        g_free(tmp);
    }
    if (*end == '\0') {
        shift = default_unit_shift;
    } else if (end[1] == '\0' && (shift = size_suffix_shift(*end)) >= 0) {
        /* suffix accepted */
    } else {
        return false;
    }
    if (shift >= 64 || (shift && whole > (UINT64_MAX >> shift))) {
        return false;
    }
    uint64_t v = (uint64_t)whole << shift;
    if (frac != 0) {
        if (shift == 0) {
            return false;
        }
        double extra = round(ldexp(frac, shift));
        if ((double)UINT64_MAX - (double)v < extra) {
            return false;
        }
        v += (uint64_t)extra;
    }
    *out = v;
    return true;
}

bool parse_size(const char *str, uint64_t *out)
{
    return parse_size_unit(str, 0, out);
}

bool opts_get_bool(const Opts *opts, const char *key, bool def, Error **errp)
{
    const char *v = opts_get(opts, key);
    bool b;
    if (!v) {
        return def;
    }
    if (!parse_bool(key, v, &b, errp)) {
        return def;
    }
    return b;
}

uint64_t opts_get_number(const Opts *opts, const char *key, uint64_t def, Error **errp)
{
    const char *v = opts_get(opts, key);
    uint64_t n;
    if (!v) {
        return def;
    }
    if (!parse_uint(v, &n)) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return def;
    }
    return n;
}

uint64_t opts_get_size(const Opts *opts, const char *key, uint64_t def, Error **errp)
{
    const char *v = opts_get(opts, key);
    uint64_t n;
    if (!v) {
        return def;
    }
    if (!parse_size(v, &n)) {
        error_setg(errp, "Parameter '%s' expects a non-negative number below 2^64", key);
        error_append_hint(errp, "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, "
                                "tera-, peta-\nand exabytes, respectively.\n");
        return def;
    }
    return n;
}
