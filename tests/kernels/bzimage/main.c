/*
 * main.c: the fake bzImage's C part. Prints what the boot loader handed over in boot_params
 * (Linux Documentation/arch/x86/zero-page.rst and boot.rst): the entry path (32 or 64-bit),
 * loader type, command line (cmd_line_ptr + ext_cmd_line_ptr), initrd address/size (+ ext
 * fields) and its first 16 bytes, and the E820 table; checks the zero page is coherent; ends
 * with "PASS bzimage" and exit code 0 through isa-debug-exit.
 */
#include "../lib/libk.h"

TEST_NAME("bzimage");

#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define HDR_BOOT_FLAG        0x1fe
#define HDR_HEADER           0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_EXT_LOADER_VER   0x226
#define HDR_EXT_LOADER_TYPE  0x227
#define HDR_CMD_LINE_PTR     0x228
#define HDR_CMDLINE_SIZE     0x238
#define HDR_SETUP_DATA       0x250
#define E820_MAX 128

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} PACKED;

extern char _payload_start[], _bss_end[];
void bz_main(const uint8_t *bp, int path);

static uint32_t rd32(const uint8_t *bp, uint32_t off)
{
    uint32_t v;
    memcpy(&v, bp + off, 4);
    return v;
}

static uint64_t rd64(const uint8_t *bp, uint32_t off)
{
    uint64_t v;
    memcpy(&v, bp + off, 8);
    return v;
}

static bool in_ram(const struct e820_entry *e820, int n, uint64_t start, uint64_t end)
{
    for (int i = 0; i < n; i++) {
        if (e820[i].type == 1 && e820[i].addr <= start && e820[i].addr + e820[i].size >= end) {
            return true;
        }
    }
    return false;
}

void bz_main(const uint8_t *bp, int path)
{
    serial_init();
    idt_init();
    idt_load();
    printf("fake-bzImage: entered through the %d-bit entry point\n", path);
    printf("boot_params at 0x%08x\n", (unsigned)(uintptr_t)bp);
    CHECK(path == 32 || path == 64, "unknown entry path %d", path);
    CHECK((uintptr_t)bp >= 0x1000, "boot_params pointer 0x%x", (unsigned)(uintptr_t)bp);

    uint16_t version = (uint16_t)rd32(bp, HDR_VERSION);
    printf("header: \"%.4s\" version 0x%04x boot_flag 0x%04x loadflags 0x%02x code32_start "
           "0x%08x\n", (const char *)bp + HDR_HEADER, version,
           (uint16_t)rd32(bp, HDR_BOOT_FLAG), bp[HDR_LOADFLAGS], rd32(bp, HDR_CODE32_START));
    CHECK(!memcmp(bp + HDR_HEADER, "HdrS", 4), "boot_params.hdr lacks the HdrS magic");
    CHECK(version == 0x020f, "boot_params.hdr.version 0x%x", version);
    printf("loader: type_of_loader 0x%02x ext_loader_ver 0x%02x ext_loader_type 0x%02x\n",
           bp[HDR_TYPE_OF_LOADER], bp[HDR_EXT_LOADER_VER], bp[HDR_EXT_LOADER_TYPE]);

    uint64_t cmd = rd32(bp, HDR_CMD_LINE_PTR) | ((uint64_t)rd32(bp, BP_EXT_CMD_LINE_PTR) << 32);
    printf("cmd_line_ptr 0x%llx\n", (unsigned long long)cmd);
    if (cmd) {
        CHECK(cmd < 0xffffffffull, "command line above 4 GiB");
        const char *s = (const char *)(uintptr_t)cmd;
        uint32_t max = rd32(bp, HDR_CMDLINE_SIZE);
        uint32_t len = 0;
        while (len <= max && s[len]) {
            len++;
        }
        CHECK(len <= max, "command line longer than cmdline_size %u or unterminated", max);
        printf("cmdline: \"%s\"\n", s);
    } else {
        printf("cmdline: (none)\n");
    }

    uint64_t rd_image = rd32(bp, HDR_RAMDISK_IMAGE) |
                        ((uint64_t)rd32(bp, BP_EXT_RAMDISK_IMAGE) << 32);
    uint64_t rd_size = rd32(bp, HDR_RAMDISK_SIZE) |
                       ((uint64_t)rd32(bp, BP_EXT_RAMDISK_SIZE) << 32);
    printf("ramdisk_image 0x%llx ramdisk_size %llu\n", (unsigned long long)rd_image,
           (unsigned long long)rd_size);

    int n = bp[BP_E820_ENTRIES];
    const struct e820_entry *e820 = (const struct e820_entry *)(bp + BP_E820_TABLE);
    printf("e820_entries %d\n", n);
    CHECK(n >= 1 && n <= E820_MAX, "e820_entries %d", n);
    for (int i = 0; i < n; i++) {
        printf("e820: [0x%016llx-0x%016llx] type %u\n", (unsigned long long)e820[i].addr,
               (unsigned long long)(e820[i].addr + e820[i].size - 1), e820[i].type);
    }
    CHECK(in_ram(e820, n, (uintptr_t)_payload_start, (uintptr_t)_bss_end),
          "the kernel image 0x%x-0x%x is not in E820 RAM", (unsigned)(uintptr_t)_payload_start,
          (unsigned)(uintptr_t)_bss_end);

    if (rd_size) {
        CHECK(rd_image + rd_size <= 0xffffffffull, "initrd above 4 GiB");
        CHECK(in_ram(e820, n, rd_image, rd_image + rd_size), "initrd not in E820 RAM");
        CHECK(rd_image >= (uintptr_t)_bss_end || rd_image + rd_size <= (uintptr_t)_payload_start,
              "initrd overlaps the kernel");
        const uint8_t *p = (const uint8_t *)(uintptr_t)rd_image;
        printf("initrd bytes:");
        for (uint64_t i = 0; i < 16 && i < rd_size; i++) {
            printf(" %02x", p[i]);
        }
        printf("\n");
    }
    for (uint64_t sd = rd64(bp, HDR_SETUP_DATA), i = 0; sd && sd < 0xffffffffull && i < 16; i++) {
        const uint8_t *d = (const uint8_t *)(uintptr_t)sd;
        printf("setup_data at 0x%llx: type %u len %u\n", (unsigned long long)sd, rd32(d, 8),
               rd32(d, 12));
        sd = rd64(d, 0);
    }
    test_pass();
}
