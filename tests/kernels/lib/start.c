/*
 * start.c: start-up of a multiboot test kernel after entry.S: console, GDT, IDT, multiboot
 * info (Multiboot Specification 0.6.96 §3.2: EAX holds the magic 0x2BADB002), then main().
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
