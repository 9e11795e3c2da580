/*
 * Direct kernel boot for PC boards (-kernel/-initrd/-append without firmware):
 *   - Linux bzImage: Linux x86 boot protocol (Documentation/arch/x86/boot.rst,
 *     zero-page.rst), 64-bit entry, or 32-bit entry for kernels without XLF_KERNEL_64;
 *   - Multiboot v1 (Multiboot Specification 0.6.96 §3): ELF32 or the a.out kludge.
 *
 * The loaders are pure: they turn file contents into an X86BootImage (a list of blobs
 * with guest addresses, plus the CPU entry state) without touching a VM, so they can
 * be unit-tested.  x86_load_kernel() is the edge: it reads the files, hands every blob
 * to rom_add_blob() and sets the BSP's registers.
 *
 * Direct-boot guest memory layout (all inside e820 RAM, below 1 MiB unless noted):
 *   0x000500  GDT: 0x10 flat code (64-bit for Linux64, else 32-bit), 0x18 flat data
 *   0x007000  Linux boot_params (zero page)
 *   0x009000  Linux page tables: PML4, PDPT at 0xa000, 4 PDs at 0xb000-0xefff
 *             (identity map of the first 4 GiB with 2 MiB pages)
 *   0x020000  Linux command line (up to 0x9fc00: truncated to the kernel's cmdline_size)
 *   0x100000  Linux protected-mode kernel; Multiboot images wherever they ask
 *   initrd:   Linux: top of low RAM below initrd_addr_max, 4 KiB aligned (as QEMU);
 *   modules + multiboot info: after the multiboot kernel, page aligned.
 */
#ifndef HW_I386_BOOT_H
#define HW_I386_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"
#include "system/memory.h"
#include "hw/i386/cpu.h"
#include "hw/i386/e820.h"

#define X86_BOOT_GDT_ADDR        0x500
#define X86_BOOT_PARAMS_ADDR     0x7000
#define X86_BOOT_STACK_TOP       0x8ff0
#define X86_BOOT_PML4_ADDR       0x9000
#define X86_BOOT_PDPT_ADDR       0xa000
#define X86_BOOT_PD_ADDR         0xb000     /* 4 pages */
#define X86_BOOT_CMDLINE_ADDR    0x20000
#define X86_BOOT_CMDLINE_MAX     (0x9fc00 - X86_BOOT_CMDLINE_ADDR)
#define X86_BOOT_KERNEL_ADDR     0x100000

#define X86_BOOT_SEL_CODE        0x10
#define X86_BOOT_SEL_DATA        0x18

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

typedef enum X86EntryMode {
    X86_ENTRY_LINUX64,      /* long mode, RSI = boot_params, RIP = kernel + 0x200 */
    X86_ENTRY_LINUX32,      /* flat protected mode, ESI = boot_params, EIP = code32_start */
    X86_ENTRY_MULTIBOOT,    /* flat protected mode, EAX = 0x2BADB002, EBX = info */
} X86EntryMode;

/* One piece of guest memory contents. */
typedef struct X86BootBlob {
    char *name;
    uint8_t *data;
    size_t len;
    hwaddr addr;
} X86BootBlob;

/* How the BSP enters the loaded kernel; the board re-applies it after every reset. */
typedef struct X86BootEntry {
    X86EntryMode mode;
    uint64_t entry;          /* RIP/EIP */
    uint64_t boot_info;      /* RSI/ESI (Linux) or EBX (Multiboot) */
    hwaddr gdt_base;
    uint16_t gdt_limit;
    hwaddr cr3;              /* Linux64 only */
} X86BootEntry;

typedef struct X86BootImage {
    X86BootBlob *blobs;
    unsigned nr_blobs, cap_blobs;
    X86BootEntry entry;
    char **warnings;         /* NULL-terminated list, printed by x86_load_kernel */
} X86BootImage;

typedef struct X86BootConfig {
    const char *kernel_filename;  /* for messages and the multiboot command line */
    const char *initrd_filename;  /* Linux: one file; Multiboot: "file args,file2" list */
    const char *cmdline;          /* -append text (NULL = empty) */
    const E820Table *e820;        /* the map the guest sees (direct boot: with holes) */
    hwaddr acpi_rsdp_addr;        /* 0 = none: Linux then scans the BIOS area */
    bool vga;                     /* a VGA exists: describe an 80x25 text console */
} X86BootConfig;

/* Read a whole file (loader edge; errors: "could not open ... file 'PATH': why"). */
bool x86_boot_read_file(const char *what, const char *path, uint8_t **data, size_t *len,
                        Error **errp);

/* Image helpers (blob data is copied). */
void x86_boot_image_add(X86BootImage *img, const char *name, const void *data, size_t len,
                        hwaddr addr);
void x86_boot_image_warn(X86BootImage *img, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const X86BootBlob *x86_boot_image_find(const X86BootImage *img, const char *name);
void x86_boot_image_free(X86BootImage *img);

/* Recognisers on the first bytes of a kernel file. */
bool linux_boot_probe(const uint8_t *kernel, size_t len);
/* Offset of a valid Multiboot v1 header in the first 8192 bytes, or -1. */
long multiboot_find_header(const uint8_t *kernel, size_t len);

/*
 * Linux bzImage: build boot_params, command line, initrd, page tables and GDT.
 * `initrd` may be NULL.  Errors carry QEMU's meanings ("invalid kernel header",
 * "linux kernel too old to load a ram disk", "initrd is too large, ...").
 */
bool linux_boot_build(const X86BootConfig *cfg, const uint8_t *kernel, size_t kernel_len,
                      const uint8_t *initrd, size_t initrd_len, X86BootImage *img,
                      Error **errp);

/* Multiboot v1: load the image and the modules named in cfg->initrd_filename. */
bool multiboot_build(const X86BootConfig *cfg, const uint8_t *kernel, size_t kernel_len,
                     X86BootImage *img, Error **errp);

/* Read the files named in cfg, detect the format and build the image. */
bool x86_boot_prepare(const X86BootConfig *cfg, X86BootImage *img, Error **errp);

/* The GDT blob at X86_BOOT_GDT_ADDR: null, null, 0x10 flat code, 0x18 flat data. */
void x86_boot_add_gdt(X86BootImage *img, bool code64);
/* Every blob must lie in e820 RAM (no wrap, no hole): "not enough guest RAM ..." */
bool x86_boot_check_ram(const X86BootImage *img, const E820Table *e820, Error **errp);

/* Put a CPU in the entry state (segments, CRs, EFER, GDT, registers); leaves
 * apic_base, mp_state and xcr0 as x86_cpu_reset_state() set them. */
void x86_boot_set_cpu_state(const X86BootEntry *entry, CPUX86State *env);

/*
 * Board entry points.  Load ms->kernel_filename (+ initrd, cmdline), add every blob
 * with rom_add_blob() and set ms->cpus[0]->env.  The _full variant also passes the
 * RSDP address to Linux (boot_params.acpi_rsdp_addr), says whether a VGA exists, and
 * returns the entry state in *entry_out (may be NULL) so the board can call
 * x86_boot_set_cpu_state() again after each x86_cpu_reset_state() on reboot.
 */
bool x86_load_kernel(MachineState *ms, const E820Table *e820, Error **errp);
bool x86_load_kernel_full(MachineState *ms, const E820Table *e820, hwaddr acpi_rsdp_addr,
                          bool vga, X86BootEntry *entry_out, Error **errp);

#endif
