/*
 * boot-dump KERNEL INITRD CMDLINE OUTDIR [32]: run kemu's direct-boot loader and ACPI builder for
 * a 512 MiB, 2-CPU pc and write every blob to OUTDIR/b<N>_<address in hex>; print the
 * comma-separated list of those files (a Multiboot module list for qemu-shim/shim.c).  The
 * ACPI tables go to 0x80000 (RSDP 0x8f000, e820 "ACPI data") because SeaBIOS write-protects
 * 0xe0000-0xfffff under QEMU; Linux finds them through boot_params.acpi_rsdp_addr.
 * With "32", XLF_KERNEL_64 is cleared in the image first, so the 32-bit boot protocol
 * path is what gets built.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "hw/i386/acpi.h"
#include "hw/i386/boot.h"

int main(int argc, char **argv)
{
    E820Table e820;
    X86BootImage img;
    AcpiConfig acfg;
    AcpiTables acpi;
    Error *err = NULL;
    GString *list = g_string_new(NULL);

    bool mode32 = argc == 6 && !strcmp(argv[5], "32");
    if (argc != 5 && !mode32) {
        fprintf(stderr, "usage: %s KERNEL INITRD CMDLINE OUTDIR [32]\n", argv[0]);
        return 2;
    }
    e820_build_pc(&e820, 512ull << 20, 0, true, true);
    acpi_config_init_pc(&acfg, 2, 512ull << 20, 0);
    acfg.tables_addr = 0x80000;
    acfg.rsdp_addr = 0x8f000;
    acfg.tables_max = 0xf000;
    if (!acpi_build_tables(&acfg, &acpi, &err)) {
        fprintf(stderr, "%s\n", error_get_pretty(err));
        return 1;
    }
    acpi_tables_install(&acpi, 0x10000, &e820);    /* marks the e820 range */
    X86BootConfig cfg = {
        .kernel_filename = argv[1],
        .initrd_filename = argv[2],
        .cmdline = argv[3],
        .e820 = &e820,
        .acpi_rsdp_addr = acpi.rsdp_addr,
    };
    bool ok;
    if (mode32) {
        uint8_t *k, *initrd;
        size_t klen, ilen;
        if (!x86_boot_read_file("kernel", argv[1], &k, &klen, &err) ||
            !x86_boot_read_file("initrd", argv[2], &initrd, &ilen, &err)) {
            fprintf(stderr, "%s\n", error_get_pretty(err));
            return 1;
        }
        if (klen > 0x236) {
            k[0x236] &= ~1;     /* xloadflags: no XLF_KERNEL_64 */
        }
        memset(&img, 0, sizeof(img));
        ok = linux_boot_build(&cfg, k, klen, initrd, ilen, &img, &err);
        g_free(k);
        g_free(initrd);
    } else {
        ok = x86_boot_prepare(&cfg, &img, &err);
    }
    if (!ok) {
        fprintf(stderr, "%s\n", error_get_pretty(err));
        return 1;
    }
    if (mode32 ? (img.entry.mode != X86_ENTRY_LINUX32 || img.entry.entry != 0x100000)
               : (img.entry.mode != X86_ENTRY_LINUX64 || img.entry.entry != 0x100200 ||
                  img.entry.cr3 != 0x9000) ||
        img.entry.boot_info != 0x7000 || img.entry.gdt_base != 0x500 ||
        img.entry.gdt_limit != 31) {
        fprintf(stderr, "entry state differs from what the shim does\n");
        return 1;
    }
    x86_boot_image_add(&img, "acpi tables", acpi.tables, acpi.tables_len, acpi.tables_addr);
    x86_boot_image_add(&img, "acpi rsdp", acpi.rsdp, acpi.rsdp_len, acpi.rsdp_addr);
    for (unsigned i = 0; i < img.nr_blobs; i++) {
        char *path = g_strdup_printf("%s/b%u_%08llx", argv[4], i,
                                     (unsigned long long)img.blobs[i].addr);
        if (!g_file_set_contents(path, (const char *)img.blobs[i].data, img.blobs[i].len,
                                 NULL)) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        fprintf(stderr, "%-20s 0x%08llx %zu bytes\n", img.blobs[i].name,
                (unsigned long long)img.blobs[i].addr, img.blobs[i].len);
        g_string_append_printf(list, "%s%s", i ? "," : "", path);
        g_free(path);
    }
    printf("%s\n", list->str);
    g_string_free(list, TRUE);
    x86_boot_image_free(&img);
    acpi_tables_free(&acpi);
    return 0;
}
