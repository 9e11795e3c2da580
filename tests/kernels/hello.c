/*
 * hello.c: the smallest test: prints a greeting and exits with the code given on the
 * command line as "exitcode=N" (default 0), so the harness can check the whole
 * boot -> serial -> isa-debug-exit path including the status mapping (N << 1) | 1.
 */
#include "lib/libk.h"

TEST_NAME("hello");

int main(void)
{
    printf("Hello from kemu test kernel\n");
    printf("cmdline: \"%s\"\n", mb_cmdline());
    long code = cmdline_int("exitcode", 0);
    if (code < 0 || code > 0x7fffffff) {
        test_fail(EXIT_FAIL, "exitcode=%ld out of range", code);
    }
    printf("PASS %s\n", test_name);
    exit((int)code);
}
