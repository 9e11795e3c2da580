/*
 * BIOS E820 memory map (ACPI 6.4 §15 "System Address Map Interfaces", Table 15.1
 * address range types) as built for PC boards, exported to the guest three ways:
 * boot_params.e820_table for direct Linux boot, the Multiboot mmap, and the fw_cfg
 * file "etc/e820" read by SeaBIOS (QEMU's format: le64 addr, le64 len, le32 type).
 */
#ifndef HW_I386_E820_H
#define HW_I386_E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_ACPI      3
#define E820_NVS       4
#define E820_UNUSABLE  5

/* boot_params.e820_table holds 128 entries (zero-page.rst); never build more. */
#define E820_MAX_ENTRIES 128

/* Fixed parts of the PC map, as QEMU + SeaBIOS present them to Linux. */
#define PC_LOW_RAM_END        0x9fc00ull   /* 639 KiB usable; EBDA above it */
#define PC_ISA_HOLE_START     0xa0000ull
#define PC_BIOS_AREA_START    0xf0000ull   /* reserved up to 1 MiB */
#define PC_HIGH_RAM_START     0x100000ull
#define PC_KVM_TSS_ADDR       0xfeffc000ull /* KVM TSS + identity map: 4 pages, reserved */
#define PC_KVM_TSS_SIZE       0x4000ull
#define PC_LOWMEM_DEFAULT_MAX 0xe0000000ull /* max-ram-below-4g default (3.5 GiB) */

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

/* Sorted by address, non-overlapping; adjacent entries of one type are merged. */
typedef struct E820Table {
    unsigned nr;
    E820Entry entries[E820_MAX_ENTRIES];
} E820Table;

void e820_init(E820Table *t);
/*
 * Add [addr, addr+len) of `type`.  A later entry wins where it overlaps earlier ones
 * (existing entries are split around it), so a board adds RAM first and then carves
 * reserved ranges out of it.  Returns false (table unchanged) if the result would
 * exceed E820_MAX_ENTRIES or the range wraps.
 */
bool e820_add_entry(E820Table *t, uint64_t addr, uint64_t len, uint32_t type);
/* Type of the entry holding addr, or 0 if none. */
uint32_t e820_type_at(const E820Table *t, uint64_t addr);
/* Is [addr, addr+len) entirely covered by one E820_RAM entry? */
bool e820_range_is_ram(const E820Table *t, uint64_t addr, uint64_t len);
/* Bytes of E820_RAM in the table. */
uint64_t e820_total_ram(const E820Table *t);
/* End of the E820_RAM entry containing addr (0 if addr is not RAM). */
uint64_t e820_ram_end(const E820Table *t, uint64_t addr);

/*
 * i440FX "pc" RAM split (QEMU pc_piix rule, default max-ram-below-4g 3.5 GiB with
 * gigabyte alignment): RAM below 3.5 GiB is all low; otherwise 3 GiB low and the rest
 * from 4 GiB up.
 */
void pc_ram_layout(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g);

/*
 * The PC map.  With `bios_holes` (direct boot, no firmware): usable [0, 0x9fc00),
 * reserved [0x9fc00, 0xa0000) and [0xf0000, 1 MiB), usable [1 MiB, below_4g), RAM
 * above 4 GiB.  Without it, the coarse map QEMU hands SeaBIOS in "etc/e820" (RAM
 * [0, below_4g) and above 4 GiB; the firmware adds its own holes).  `kvm_tss` adds the
 * reserved 0xfeffc000 (4 pages) range QEMU reserves under KVM.
 */
void e820_build_pc(E820Table *t, uint64_t below_4g, uint64_t above_4g, bool bios_holes,
                   bool kvm_tss);

/* fw_cfg "etc/e820": nr * 20 bytes of {le64 addr, le64 len, le32 type}. g_free it. */
uint8_t *e820_fw_cfg_blob(const E820Table *t, size_t *len);

#endif
