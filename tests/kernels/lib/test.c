/*
 * test.c: the PASS/FAIL convention: the last line is "PASS <name>" or "FAIL <name>: <reason>",
 * then exit() with 0 for a pass and a nonzero code for a failure.
 */
#include "libk.h"

void test_pass(void)
{
    printf("PASS %s\n", test_name);
    exit(EXIT_PASS);
}

void test_fail(int code, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("FAIL %s: %s\n", test_name, buf);
    exit(code ? code : EXIT_FAIL);
}
