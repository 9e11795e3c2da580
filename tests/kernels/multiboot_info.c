/*
 * multiboot_info.c: prints what the Multiboot v1 loader handed over (Multiboot Specification
 * 0.6.96 §3.3): flags, command line, and each module's address, size, string and first 16
 * bytes, so the harness can compare them with the files it passed. Checks the structure is
 * coherent: modules page aligned (header flag bit 0), not overlapping each other or the
 * kernel, and, with "mods=N" on the command line, exactly N modules.
 */
#include "lib/libk.h"

TEST_NAME("multiboot_info");

extern char _kernel_start[], _end[];

int main(void)
{
    CHECK(mb_info, "no multiboot info (bad magic)");
    printf("flags 0x%08x\n", mb_info->flags);
    CHECK(mb_info->flags & MB_INFO_CMDLINE, "no command line flag");
    printf("cmdline: %s\n", mb_cmdline());
    uint32_t count = (mb_info->flags & MB_INFO_MODS) ? mb_info->mods_count : 0;
    printf("mods_count %u\n", count);
    long want = cmdline_int("mods", -1);
    if (want >= 0) {
        CHECK(count == (uint32_t)want, "%u modules, expected %ld", count, want);
    }
    const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mb_info->mods_addr;
    for (uint32_t i = 0; i < count; i++) {
        const struct mb_module *m = &mods[i];
        uint32_t size = m->mod_end - m->mod_start;
        printf("module %u: start 0x%08x end 0x%08x size %u string \"%s\" bytes", i, m->mod_start,
               m->mod_end, size, m->string ? (const char *)(uintptr_t)m->string : "");
        const uint8_t *data = (const uint8_t *)(uintptr_t)m->mod_start;
        for (uint32_t j = 0; j < 16 && j < size; j++) {
            printf(" %02x", data[j]);
        }
        printf("\n");
        CHECK(m->mod_end >= m->mod_start, "module %u ends before it starts", i);
        CHECK(!(m->mod_start & 0xfff), "module %u not page aligned", i);
        CHECK(m->mod_start >= (uintptr_t)_end || m->mod_end <= (uintptr_t)_kernel_start,
              "module %u overlaps the kernel", i);
        for (uint32_t j = 0; j < i; j++) {
            CHECK(m->mod_start >= mods[j].mod_end || m->mod_end <= mods[j].mod_start,
                  "modules %u and %u overlap", j, i);
        }
    }
    return 0;
}
