/*
 * multiboot.c: access to the Multiboot v1 information structure (Multiboot Specification
 * 0.6.96, §3.3) and "key=value" parsing of the command line.
 */
#include "libk.h"

const struct mb_info *mb_info;

const char *mb_cmdline(void)
{
    if (mb_info && (mb_info->flags & MB_INFO_CMDLINE) && mb_info->cmdline) {
        return (const char *)(uintptr_t)mb_info->cmdline;
    }
    return "";
}

bool cmdline_get(const char *key, char *buf, size_t size)
{
    const char *s = mb_cmdline();
    size_t klen = strlen(key);
    while (*s) {
        while (*s == ' ') {
            s++;
        }
        const char *tok = s;
        while (*s && *s != ' ') {
            s++;
        }
        if ((size_t)(s - tok) > klen && !strncmp(tok, key, klen) && tok[klen] == '=') {
            size_t n = (size_t)(s - tok) - klen - 1;
            if (n >= size) {
                n = size - 1;
            }
            memcpy(buf, tok + klen + 1, n);
            buf[n] = '\0';
            return true;
        }
    }
    return false;
}

long parse_long(const char *s, bool *ok)
{
    long v = 0;
    bool neg = false, any = false;
    unsigned base = 10;
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') {
            d = (unsigned)(*s - '0');
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = (unsigned)(*s - 'a' + 10);
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = (unsigned)(*s - 'A' + 10);
        } else {
            break;
        }
        v = v * (long)base + (long)d;
        any = true;
    }
    if (ok) {
        *ok = any && !*s;
    }
    return neg ? -v : v;
}

long cmdline_int(const char *key, long dflt)
{
    char buf[32];
    bool ok;
    if (!cmdline_get(key, buf, sizeof(buf))) {
        return dflt;
    }
    long v = parse_long(buf, &ok);
    if (!ok) {
        test_fail(EXIT_FAIL, "bad number in %s=%s", key, buf);
    }
    return v;
}
