/*
 * bzboot.c: a minimal Linux x86 boot-protocol loader, run as a multiboot test kernel (linked
 * at 4 MiB), so the fake bzImage's entry points can be checked under any emulator: module 0 is
 * the bzImage (its module string after the file name is the kernel command line), module 1 the
 * optional initrd. Following boot.rst ("Loading the rest of the kernel", "32-bit/64-bit Boot
 * Protocol"): a zeroed boot_params with the image's setup header copied in, type_of_loader
 * 0xff, cmd_line_ptr, ramdisk_image/size, an E820 table made from the multiboot memory map,
 * the protected-mode image at its pref_address (it is not relocatable), then entry through
 * startup_32 ("path=32" on the command line) or, by default, startup_64 at +0x200 with
 * identity-mapped page tables for the first 4 GiB.
 */
#include "../lib/libk.h"

TEST_NAME("bzboot");

#define XLF_KERNEL_64 (1u << 0)

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} PACKED;

void bzboot_enter32(uint32_t entry, uint32_t boot_params);
void bzboot_enter64(uint32_t entry64, uint32_t boot_params, uint32_t cr3);

static uint8_t boot_params[4096] __attribute__((aligned(4096)));
static char cmdline[2048];
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

extern char _kernel_start[], _end[];

static uint32_t rd32(const uint8_t *p, uint32_t off)
{
    uint32_t v;
    memcpy(&v, p + off, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t off, uint32_t v)
{
    memcpy(p + off, &v, 4);
}

static bool overlaps(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1)
{
    return a0 < b1 && b0 < a1;
}

int main(void)
{
    CHECK(mb_info && (mb_info->flags & MB_INFO_MODS) && mb_info->mods_count >= 1,
          "no bzImage module (pass it with -initrd)");
    CHECK(mb_info->flags & MB_INFO_MMAP, "no multiboot memory map");
    const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mb_info->mods_addr;
    const uint8_t *img = (const uint8_t *)(uintptr_t)mods[0].mod_start;
    uint32_t img_size = mods[0].mod_end - mods[0].mod_start;
    char path[8];
    bool use64 = !(cmdline_get("path", path, sizeof(path)) && !strcmp(path, "32"));

    CHECK(img_size >= 0x1000 && !memcmp(img + 0x202, "HdrS", 4), "module 0 is not a bzImage");
    uint16_t version = (uint16_t)rd32(img, 0x206);
    uint32_t setup_sects = img[0x1f1] ? img[0x1f1] : 4;
    uint32_t pm_off = (setup_sects + 1) * 512;
    uint32_t pm_size = img_size - pm_off;
    uint32_t load = rd32(img, 0x214);                  /* code32_start */
    uint32_t init_size = rd32(img, 0x260);
    uint16_t xlf = (uint16_t)rd32(img, 0x236);
    printf("bzImage: version 0x%04x setup_sects %u protected-mode size %u code32_start 0x%x "
           "init_size 0x%x xloadflags 0x%x\n", version, setup_sects, pm_size, load, init_size,
           xlf);
    CHECK(version >= 0x020c, "boot protocol 0x%x too old", version);
    CHECK(!use64 || (xlf & XLF_KERNEL_64), "no 64-bit entry point (XLF_KERNEL_64)");
    CHECK(img[0x211] & 1, "not LOADED_HIGH");
    if (init_size < pm_size) {
        init_size = pm_size;
    }
    CHECK(!overlaps(load, load + init_size, (uintptr_t)_kernel_start, (uintptr_t)_end),
          "kernel would overwrite bzboot");
    for (uint32_t i = 0; i < mb_info->mods_count; i++) {
        CHECK(!overlaps(load, load + init_size, mods[i].mod_start, mods[i].mod_end),
              "kernel would overwrite module %u", i);
    }

    /* boot_params: zeroed, setup header copied (0x1f1 up to 0x202 + the jump's offset). */
    uint32_t hdr_end = 0x202 + img[0x201];
    memcpy(boot_params + 0x1f1, img + 0x1f1, hdr_end - 0x1f1);
    boot_params[0x210] = 0xff;                          /* type_of_loader: undefined */
    const char *mstr = mods[0].string ? (const char *)(uintptr_t)mods[0].string : "";
    while (*mstr && *mstr != ' ') {
        mstr++;                                         /* skip the file name */
    }
    while (*mstr == ' ') {
        mstr++;
    }
    snprintf(cmdline, sizeof(cmdline), "%s", mstr);
    wr32(boot_params, 0x228, (uint32_t)(uintptr_t)cmdline);
    if (mb_info->mods_count >= 2) {
        wr32(boot_params, 0x218, mods[1].mod_start);
        wr32(boot_params, 0x21c, mods[1].mod_end - mods[1].mod_start);
    }
    int n = 0;
    struct e820_entry *e820 = (struct e820_entry *)(boot_params + 0x2d0);
    uintptr_t mmap_end = mb_info->mmap_addr + mb_info->mmap_length;
    for (uintptr_t a = mb_info->mmap_addr; a < mmap_end && n < 128;) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)a;
        e820[n].addr = e->addr;
        e820[n].size = e->len;
        e820[n].type = e->type;
        n++;
        a += e->size + 4;
    }
    boot_params[0x1e8] = (uint8_t)n;

    memcpy((void *)(uintptr_t)load, img + pm_off, pm_size);
    memset((uint8_t *)(uintptr_t)load + pm_size, 0, init_size - pm_size);

    printf("bzboot: entering the %d-bit entry point, boot_params 0x%x, cmdline \"%s\"\n",
           use64 ? 64 : 32, (unsigned)(uintptr_t)boot_params, cmdline);
    if (!use64) {
        bzboot_enter32(load, (uint32_t)(uintptr_t)boot_params);
    } else {
        /* Identity map 0-4 GiB with 2 MiB pages: present, writable, PS. */
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 512; j++) {
                pd[i][j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x83;
            }
            pdpt[i] = (uint32_t)(uintptr_t)pd[i] | 0x3;
        }
        pml4[0] = (uint32_t)(uintptr_t)pdpt | 0x3;
        bzboot_enter64(load + 0x200, (uint32_t)(uintptr_t)boot_params,
                       (uint32_t)(uintptr_t)pml4);
    }
    test_fail(EXIT_FAIL, "the bzImage returned");
}
