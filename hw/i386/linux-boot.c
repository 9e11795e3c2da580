/*
 * Linux bzImage direct boot, per Documentation/arch/x86/boot.rst (setup header fields,
 * "Loading the rest of the kernel", "64-bit Boot Protocol", "32-bit Boot Protocol") and
 * Documentation/arch/x86/zero-page.rst (boot_params layout).  Every offset and length
 * taken from the image is checked against the file size: the image is user input.
 */
#include "hw/i386/boot.h"
#include "kemu/bswap.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Setup header (offsets in the image file and in boot_params alike). */
#define HDR_START            0x1f1
#define HDR_SETUP_SECTS      0x1f1
#define HDR_VID_MODE         0x1fa
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202   /* "HdrS" */
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_END_MAX          0x290   /* edd_mbr_sig_buffer follows the header */

/* boot_params (zero page) fields outside the setup header. */
#define BP_SIZE              0x1000
#define BP_ORIG_X            0x000
#define BP_ORIG_Y            0x001
#define BP_VIDEO_MODE        0x006
#define BP_VIDEO_COLS        0x007
#define BP_VIDEO_EGA_BX      0x00a
#define BP_VIDEO_LINES       0x00e
#define BP_VIDEO_ISVGA       0x00f
#define BP_VIDEO_POINTS      0x010
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_ALT_MEM_K         0x1e0
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0

#define LOADED_HIGH          0x01
#define CAN_USE_HEAP         0x80
#define XLF_KERNEL_64        0x01
#define LOADER_TYPE_QEMU     0xb0    /* boot.rst "type_of_loader": 0xB = QEMU */
#define VIDEO_TYPE_VGAC      0x22    /* include/uapi/linux/screen_info.h */

bool linux_boot_probe(const uint8_t *kernel, size_t len)
{
    return len >= HDR_MAGIC + 4 && !memcmp(kernel + HDR_MAGIC, "HdrS", 4);
}

/*
 * "vga=" on the command line sets vid_mode as the real-mode setup would see it:
 * normal/ext/ask or a number (boot.rst "vid_mode"; QEMU does the same).
 */
static bool linux_parse_vga(const char *cmdline, int *mode, Error **errp)
{
    const char *p = cmdline;

    *mode = -1;
    while ((p = strstr(p, "vga=")) != NULL) {
        if (p == cmdline || p[-1] == ' ') {
            const char *v = p + 4;
            char *end;
            long n;

            if (!strncmp(v, "normal", 6)) {
                *mode = 0xffff;
            } else if (!strncmp(v, "ext", 3)) {
                *mode = 0xfffe;
            } else if (!strncmp(v, "ask", 3)) {
                *mode = 0xfffd;
            } else {
                n = strtol(v, &end, 0);
                if (end == v || (*end && *end != ' ') || n < 0 || n > 0xffff) {
                    error_setg(errp, "invalid 'vga=' kernel parameter");
                    return false;
                }
                *mode = n;
            }
        }
        p += 4;
    }
    return true;
}

static void linux_add_page_tables(X86BootImage *img)
{
    /* Identity map of [0, 4 GiB) with 2 MiB pages (SDM Vol. 3A §4.5, Table 4-17). */
    uint8_t *pml4 = g_malloc0(4096);
    uint8_t *pdpt = g_malloc0(4096);
    uint8_t *pd = g_malloc0(4 * 4096);

    stq_le_p(pml4, X86_BOOT_PDPT_ADDR | 0x3);               /* P | RW */
    for (int i = 0; i < 4; i++) {
        stq_le_p(pdpt + i * 8, (X86_BOOT_PD_ADDR + i * 4096) | 0x3);
    }
    for (uint64_t i = 0; i < 4 * 512; i++) {
        stq_le_p(pd + i * 8, (i << 21) | 0x83);             /* P | RW | PS */
    }
    x86_boot_image_add(img, "pml4", pml4, 4096, X86_BOOT_PML4_ADDR);
    x86_boot_image_add(img, "pdpt", pdpt, 4096, X86_BOOT_PDPT_ADDR);
    x86_boot_image_add(img, "page directories", pd, 4 * 4096, X86_BOOT_PD_ADDR);
    img->entry.cr3 = X86_BOOT_PML4_ADDR;
    g_free(pml4);
    g_free(pdpt);
    g_free(pd);
}

bool linux_boot_build(const X86BootConfig *cfg, const uint8_t *kernel, size_t kernel_len,
                      const uint8_t *initrd, size_t initrd_len, X86BootImage *img,
                      Error **errp)
{
    const char *name = cfg->kernel_filename ? cfg->kernel_filename : "kernel";
    const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
    uint8_t *bp = NULL;
    uint16_t protocol;
    size_t setup_size, hdr_end, prot_size, cmdline_len;
    uint32_t cmdline_size, initrd_addr_max;
    uint64_t prot_addr = X86_BOOT_KERNEL_ADDR, low_top, kernel_end;
    int vga_mode;
    bool ok = false;

    if (!linux_boot_probe(kernel, kernel_len)) {
        error_setg(errp, "invalid kernel header");
        return false;
    }
    protocol = lduw_le_p(kernel + HDR_VERSION);
    if (protocol < 0x200 && initrd) {
        error_setg(errp, "linux kernel too old to load a ram disk");
        return false;
    }
    if (protocol < 0x200) {
        error_setg(errp, "linux kernel '%s' too old: boot protocol %u.%02u, 2.00 or later "
                   "is required", name, protocol >> 8, protocol & 0xff);
        return false;
    }
    if (!(kernel[HDR_LOADFLAGS] & LOADED_HIGH)) {
        error_setg(errp, "linux kernel '%s' is a zImage (loaded low): only bzImage kernels "
                   "are supported", name);
        return false;
    }
    setup_size = kernel[HDR_SETUP_SECTS] ? kernel[HDR_SETUP_SECTS] : 4;
    setup_size = (setup_size + 1) * 512;
    hdr_end = HDR_MAGIC + kernel[HDR_JUMP + 1];
    if (setup_size >= kernel_len || hdr_end > setup_size) {
        error_setg(errp, "invalid kernel header");
        return false;
    }
    if (hdr_end > HDR_END_MAX) {
        hdr_end = HDR_END_MAX;
    }
    /* Fields beyond the header this kernel declares read as zero. */
    uint8_t hdr[HDR_END_MAX] = { 0 };
    memcpy(hdr + HDR_START, kernel + HDR_START, hdr_end - HDR_START);

    prot_size = kernel_len - setup_size;
    kernel_end = prot_addr + prot_size;
    if (!e820_range_is_ram(cfg->e820, prot_addr, prot_size)) {
        error_setg(errp, "kernel does not fit in guest RAM (%zu bytes at 0x%" PRIx64 ")",
                   prot_size, prot_addr);
        return false;
    }

    bp = g_malloc0(BP_SIZE);
    memcpy(bp + HDR_START, hdr + HDR_START, hdr_end - HDR_START);

    /* Command line (boot.rst "cmd_line_ptr", "cmdline_size"). */
    if (!linux_parse_vga(cmdline, &vga_mode, errp)) {
        goto out;
    }
    if (vga_mode >= 0) {
        stw_le_p(bp + HDR_VID_MODE, vga_mode);
    }
    cmdline_size = protocol >= 0x206 ? ldl_le_p(hdr + HDR_CMDLINE_SIZE) : 255;
    cmdline_len = strlen(cmdline);
    if (cmdline_len > cmdline_size) {
        x86_boot_image_warn(img, "kernel command line truncated to %" PRIu32
                            " bytes (the kernel's cmdline_size)", cmdline_size);
        cmdline_len = cmdline_size;
    }
    if (cmdline_len >= X86_BOOT_CMDLINE_MAX) {
        x86_boot_image_warn(img, "kernel command line truncated to %d bytes",
                            X86_BOOT_CMDLINE_MAX - 1);
        cmdline_len = X86_BOOT_CMDLINE_MAX - 1;
    }
    if (protocol >= 0x202) {
        char *c = g_strndup(cmdline, cmdline_len);
        x86_boot_image_add(img, "cmdline", c, cmdline_len + 1, X86_BOOT_CMDLINE_ADDR);
        g_free(c);
        stl_le_p(bp + HDR_CMD_LINE_PTR, X86_BOOT_CMDLINE_ADDR);
        stl_le_p(bp + BP_EXT_CMD_LINE_PTR, 0);
    } else if (cmdline_len) {
        x86_boot_image_warn(img, "boot protocol %u.%02u has no cmd_line_ptr: kernel command "
                            "line ignored", protocol >> 8, protocol & 0xff);
    }

    bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_QEMU;
    if (protocol >= 0x201) {
        /* Only real-mode setup code uses the heap; give it boot.rst's sample value. */
        bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
        stw_le_p(bp + HDR_HEAP_END_PTR, 0xe000 - 0x200);
    }

    /* Initial ramdisk: as high as possible below min(initrd_addr_max, low RAM top). */
    if (initrd) {
        uint64_t top, bottom, addr, run_start;

        initrd_addr_max = protocol >= 0x203 ? ldl_le_p(hdr + HDR_INITRD_ADDR_MAX) : 0x37ffffff;
        low_top = e820_ram_end(cfg->e820, X86_BOOT_KERNEL_ADDR);
        top = (uint64_t)initrd_addr_max + 1;
        if (top > low_top) {
            top = low_top;
        }
        /*
         * Keep clear of the kernel image and of the buffer it decompresses into:
         * init_size bytes from pref_address (2.10+), where a relocatable kernel loaded
         * below it runs (boot.rst "pref_address", "init_size").
         */
        bottom = (kernel_end + 0xfff) & ~0xfffull;
        if (protocol >= 0x20a) {
            run_start = ldq_le_p(hdr + HDR_PREF_ADDRESS);
            if (run_start < prot_addr) {
                run_start = prot_addr;
            }
            uint64_t run_end = run_start + ldl_le_p(hdr + HDR_INIT_SIZE);
            if (run_end > bottom) {
                bottom = run_end;
            }
        }
        if (top < bottom || initrd_len > top - bottom) {
            uint64_t room = top > bottom ? top - bottom : 0;
            error_setg(errp, "initrd is too large, cannot support (max: %" PRIu64
                       ", need %zu)", room, initrd_len);
            goto out;
        }
        addr = (top - initrd_len) & ~0xfffull;
        if (addr < bottom) {
            error_setg(errp, "initrd is too large, cannot support (max: %" PRIu64
                       ", need %zu)", top - bottom, initrd_len);
            goto out;
        }
        x86_boot_image_add(img, "initrd", initrd, initrd_len, addr);
        stl_le_p(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
        stl_le_p(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
        stl_le_p(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
        stl_le_p(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_len >> 32));
    }

    /* Memory map (zero-page.rst: e820_entries at 0x1e8, e820_table[128] at 0x2d0). */
    bp[BP_E820_ENTRIES] = cfg->e820->nr;
    for (unsigned i = 0; i < cfg->e820->nr; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * 20;
        stq_le_p(e, cfg->e820->entries[i].addr);
        stq_le_p(e + 8, cfg->e820->entries[i].size);
        stl_le_p(e + 16, cfg->e820->entries[i].type);
    }
    low_top = e820_ram_end(cfg->e820, X86_BOOT_KERNEL_ADDR);
    stl_le_p(bp + BP_ALT_MEM_K, (uint32_t)((low_top - X86_BOOT_KERNEL_ADDR) >> 10));

    if (cfg->acpi_rsdp_addr) {
        stq_le_p(bp + BP_ACPI_RSDP_ADDR, cfg->acpi_rsdp_addr);
    }
    if (cfg->vga) {
        /* What the real-mode setup would report for 80x25 colour text (mode 3). */
        bp[BP_VIDEO_MODE] = 3;
        bp[BP_VIDEO_COLS] = 80;
        bp[BP_VIDEO_LINES] = 25;
        bp[BP_VIDEO_ISVGA] = VIDEO_TYPE_VGAC;
        stw_le_p(bp + BP_VIDEO_POINTS, 16);
        stw_le_p(bp + BP_VIDEO_EGA_BX, 0x0003);
    }

    x86_boot_image_add(img, "linux kernel", kernel + setup_size, prot_size, prot_addr);
    x86_boot_image_add(img, "boot_params", bp, BP_SIZE, X86_BOOT_PARAMS_ADDR);
    img->entry.boot_info = X86_BOOT_PARAMS_ADDR;
    if (protocol >= 0x20c && (hdr[HDR_XLOADFLAGS] & XLF_KERNEL_64)) {
        img->entry.mode = X86_ENTRY_LINUX64;
        img->entry.entry = prot_addr + 0x200;
        x86_boot_add_gdt(img, true);
        linux_add_page_tables(img);
    } else {
        img->entry.mode = X86_ENTRY_LINUX32;
        img->entry.entry = ldl_le_p(hdr + HDR_CODE32_START);
        if (img->entry.entry < prot_addr || img->entry.entry >= kernel_end) {
            error_setg(errp, "invalid kernel header: code32_start 0x%" PRIx64
                       " is outside the kernel", img->entry.entry);
            goto out;
        }
        x86_boot_add_gdt(img, false);
    }
    ok = x86_boot_check_ram(img, cfg->e820, errp);
out:
    g_free(bp);
    return ok;
}
