/*
 * QemuOpts-style option strings: "value,key=value,flag=on,name=a,,b".
 * The first element may omit its key (the "implied" key, e.g. "file" for -drive
 * or "type" for -machine); ",," is an escaped comma; "help" or "?" alone asks for
 * help.  Keys keep their order; a repeated key keeps every value (opts_get returns
 * the last, as QEMU does).
 */
#ifndef KEMU_OPTION_H
#define KEMU_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"

typedef struct Opts Opts;

/* Parse `str`.  `implied_key` (may be NULL) names a first element given without
 * "key=".  A bare key with no '=' other than the first is a boolean "on"
 * (QEMU's legacy "key" shorthand).  Returns NULL and sets errp on a syntax error. */
Opts *opts_parse(const char *str, const char *implied_key, Error **errp);
Opts *opts_new(void);
void opts_free(Opts *opts);
Opts *opts_copy(const Opts *opts);

void opts_set(Opts *opts, const char *key, const char *value);    /* append */
bool opts_del(Opts *opts, const char *key);                        /* remove all */
bool opts_has(const Opts *opts, const char *key);
const char *opts_get(const Opts *opts, const char *key);           /* last or NULL */

size_t opts_count(const Opts *opts);
const char *opts_key_at(const Opts *opts, size_t i);
const char *opts_value_at(const Opts *opts, size_t i);

/* Typed getters: return `def` when absent; set errp (naming the key and the
 * accepted values) when present but malformed. */
bool opts_get_bool(const Opts *opts, const char *key, bool def, Error **errp);
uint64_t opts_get_number(const Opts *opts, const char *key, uint64_t def, Error **errp);
/* Sizes with suffixes (k/K, M, G, T, P, E; bytes if none). */
uint64_t opts_get_size(const Opts *opts, const char *key, uint64_t def, Error **errp);

/* Fails with "Invalid parameter 'x'" for any key not in the NULL-terminated list. */
bool opts_check_keys(const Opts *opts, const char *const *known, Error **errp);

/* True when the string is exactly "help" or "?". */
bool opts_str_is_help(const char *str);
/* True when the parsed options contain "help" (as implied value or bare key). */
bool opts_wants_help(const Opts *opts);

/* Render back as "k=v,k2=v2" (escaping commas). Caller frees with g_free(). */
char *opts_to_string(const Opts *opts);

/* Parse a boolean as QEMU does: on/off, yes/no, true/false (y/n/1/0 not accepted).
 * Error message: "Parameter 'KEY' expects 'on' or 'off'". */
bool parse_bool(const char *key, const char *str, bool *out, Error **errp);

/* Parse a size with optional suffix.  `default_unit_shift` is applied when no
 * suffix is present (0 = bytes, 20 = MiB as -m uses).  Fractions ("1.5G") are
 * accepted when a suffix or default unit makes the result integral.
 * Returns false on syntax error or overflow past UINT64_MAX. */
bool parse_size_unit(const char *str, unsigned default_unit_shift, uint64_t *out);
bool parse_size(const char *str, uint64_t *out);
/* Whole non-negative number (decimal, 0x hex, 0 octal as strtoull base 0). */
bool parse_uint(const char *str, uint64_t *out);

#endif
