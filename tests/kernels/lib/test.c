/*
 * test.c: start-up of a test kernel after entry.S (console, GDT, IDT, multiboot info) and the
 * PASS/FAIL convention: the last line is "PASS <name>" or "FAIL <name>: <reason>", then exit()
 * with 0 for a pass and a nonzero code for a failure.
 */
#include "libk.h"

#define MB_BOOT_MAGIC 0x2badb002

void gdt_load(void);
void lib_start(uint32_t magic, const struct mb_info *info);

void lib_start(uint32_t magic, const struct mb_info *info)
{
    serial_init();
    gdt_load();
    idt_init();
    idt_load();
    if (magic == MB_BOOT_MAGIC) {
        mb_info = info;
    } else {
        printf("warning: multiboot magic 0x%x, expected 0x%x\n", magic, MB_BOOT_MAGIC);
    }
    int r = main();
    if (r == 0) {
        test_pass();
    }
    test_fail(r, "main returned %d", r);
}

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
