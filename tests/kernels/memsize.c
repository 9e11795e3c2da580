/*
 * memsize.c: the memory size seen three ways must agree: fw_cfg RAM_SIZE (key 0x0003), the
 * Multiboot mem_lower/mem_upper fields and the Multiboot memory map (Multiboot Specification
 * 0.6.96 §3.3: mem_upper is the KiB of RAM from 1 MiB up to the first hole). With "mem=<MiB>"
 * on the command line, fw_cfg must report exactly that much. Also checks the fw_cfg ID and
 * that the file directory is well formed. Only guests below 3 GiB are
 * checked precisely (above that the PCI hole splits RAM).
 */
#include "lib/libk.h"

TEST_NAME("memsize");

static bool memchr_nul(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!s[i]) {
            return true;
        }
    }
    return false;
}

/* The fw_cfg file directory (key 0x19) must be well formed: a big-endian count, then
 * entries whose names are NUL-terminated and whose selectors are >= 0x20. */
static void check_fw_cfg_dir(void)
{
    uint8_t buf[64];
    fw_cfg_read(FW_CFG_FILE_DIR, buf, 4);
    uint32_t count = ((uint32_t)buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3];
    printf("fw_cfg: %u files\n", count);
    CHECK(count < 4096, "fw_cfg file count %u", count);
    for (uint32_t i = 0; i < count; i++) {
        for (int j = 0; j < 64; j++) {
            buf[j] = inb(0x511);
        }
        uint32_t size = ((uint32_t)buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3];
        uint16_t sel = (uint16_t)((buf[4] << 8) | buf[5]);
        CHECK(memchr_nul((const char *)buf + 8, 56), "fw_cfg file %u: name not terminated", i);
        printf("fw_cfg: file 0x%04x %6u bytes %s\n", sel, size, (const char *)buf + 8);
        CHECK(sel >= 0x20, "fw_cfg file %s has selector 0x%x", (const char *)buf + 8, sel);
    }
}

int main(void)
{
    CHECK(fw_cfg_present(), "no fw_cfg signature");
    uint32_t id = fw_cfg_read32(FW_CFG_ID);
    printf("fw_cfg ID 0x%x\n", id);
    CHECK(id & 1, "fw_cfg ID 0x%x lacks the traditional interface bit", id);
    check_fw_cfg_dir();
    uint64_t ram = fw_cfg_read64(FW_CFG_RAM_SIZE);
    printf("fw_cfg RAM size: %llu bytes (%u MiB)\n", (unsigned long long)ram,
           (unsigned)(ram >> 20));
    long want_mib = cmdline_int("mem", -1);
    if (want_mib >= 0) {
        CHECK(ram == (uint64_t)want_mib << 20, "fw_cfg says %u MiB, expected %ld MiB",
              (unsigned)(ram >> 20), want_mib);
    }
    CHECK(ram >= (2u << 20), "RAM size implausibly small");
    CHECK(ram < (3ull << 30), "this test only handles guests below 3 GiB");

    CHECK(mb_info, "no multiboot info");
    CHECK(mb_info->flags & MB_INFO_MEMORY, "multiboot flags 0x%x lack mem_lower/upper",
          mb_info->flags);
    printf("multiboot mem_lower %u KiB, mem_upper %u KiB\n", mb_info->mem_lower,
           mb_info->mem_upper);
    CHECK(mb_info->mem_lower >= 600 && mb_info->mem_lower <= 640, "mem_lower %u KiB",
          mb_info->mem_lower);
    uint64_t upper_end = (1ull << 20) + (uint64_t)mb_info->mem_upper * 1024;
    /* Firmware may keep a little at the top of RAM for itself: allow up to 1 MiB. */
    CHECK(upper_end <= ram && upper_end + (1u << 20) >= ram,
          "mem_upper ends at 0x%llx, RAM size 0x%llx", (unsigned long long)upper_end,
          (unsigned long long)ram);

    CHECK(mb_info->flags & MB_INFO_MMAP, "multiboot flags 0x%x lack the memory map",
          mb_info->flags);
    uint64_t avail = 0, top = 0;
    bool has_low = false, has_kernel = false;
    extern char _kernel_start[], _end[];
    uintptr_t a = mb_info->mmap_addr, end = a + mb_info->mmap_length;
    while (a < end) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)a;
        printf("mmap: base 0x%010llx length 0x%010llx type %u\n", (unsigned long long)e->addr,
               (unsigned long long)e->len, e->type);
        if (e->type == 1) {
            avail += e->len;
            if (e->addr + e->len > top) {
                top = e->addr + e->len;
            }
            has_low |= e->addr == 0 && e->len >= 0x80000;
            has_kernel |= e->addr <= (uintptr_t)_kernel_start &&
                          e->addr + e->len >= (uintptr_t)_end;
        }
        CHECK(e->size >= 20, "mmap entry size %u", e->size);
        a += e->size + 4;
    }
    printf("mmap: %llu KiB available, top of RAM 0x%llx\n", (unsigned long long)(avail >> 10),
           (unsigned long long)top);
    CHECK(has_low, "no available RAM entry at address 0");
    CHECK(has_kernel, "the kernel image is not inside available RAM");
    CHECK(top <= ram && top + (1u << 20) >= ram, "available RAM ends at 0x%llx, RAM size 0x%llx",
          (unsigned long long)top, (unsigned long long)ram);
    /* Everything but the legacy hole (640K-1M) and a little firmware memory is available. */
    CHECK(avail <= ram && avail + (2u << 20) >= ram, "%llu bytes available of %llu",
          (unsigned long long)avail, (unsigned long long)ram);
    return 0;
}
