/*
 * ACPI tables for PC boards (ACPI 6.4): RSDP (§5.2.5, revision 2), RSDT (§5.2.7),
 * XSDT (§5.2.8), FADT (§5.2.9, revision 3), FACS (§5.2.10), DSDT (§5.2.11.1, AML from
 * hw/i386/aml.c), MADT (§5.2.12) and the HPET table (IA-PC HPET spec 1.0a §3.2.4).
 *
 * The builder lays every table but the RSDP out in one blob ("tables", as fw_cfg's
 * etc/acpi/tables will be) and records each pointer it writes (AcpiPointer), so the
 * same output can later be turned into fw_cfg files plus an etc/table-loader script
 * for SeaBIOS.  For direct boot, pointers are absolute guest addresses computed from
 * cfg->tables_addr and the RSDP is a separate blob at cfg->rsdp_addr.
 */
#ifndef HW_I386_ACPI_H
#define HW_I386_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"
#include "system/memory.h"
#include "hw/i386/e820.h"

/* Direct-boot defaults: RSDP where the OS scans for it (§5.2.5.1: 0xE0000-0xFFFFF),
 * tables in 0xE0000-0xEFFFF; the board marks [0xE0000, 0xF0000) E820_ACPI. */
#define ACPI_DIRECT_RSDP_ADDR     0xf0000
#define ACPI_DIRECT_TABLES_ADDR   0xe0000
#define ACPI_DIRECT_TABLES_SIZE   0x10000

typedef struct AcpiConfig {
    unsigned nr_cpus;          /* present CPUs (enabled MADT entries) */
    unsigned max_cpus;         /* possible CPUs; 0 = nr_cpus; the rest listed disabled */
    const uint32_t *apic_ids;  /* [max_cpus] or NULL for apic_id == index */
    uint8_t ioapic_id;         /* QEMU pc: 0 */
    uint32_t ioapic_addr;      /* 0 = 0xfec00000 */
    bool hpet;                 /* HPET at 0xfed00000: HPET table + \_SB.HPET */
    uint16_t pm_base;          /* PIIX4 PM I/O base (0x600 on QEMU pc) */
    uint16_t gpe0_base;        /* 0xafe0 */
    uint8_t sci_irq;           /* 9 */
    uint16_t smi_cmd;          /* 0 = always in ACPI mode; QEMU pc: 0xb2 */
    uint8_t acpi_enable, acpi_disable;   /* values for smi_cmd (0xf1, 0xf0) */
    bool reset_reg;            /* FADT RESET_REG = I/O 0xcf9, value 0x06 */
    uint32_t pci_hole_start;   /* 32-bit PCI MMIO window [start, end] (start = low RAM top) */
    uint32_t pci_hole_end;     /* inclusive, e.g. 0xfebfffff */
    uint64_t pci_hole64_start; /* 64-bit window; size 0 = none */
    uint64_t pci_hole64_size;
    uint8_t pirq_irqs[4];      /* ISA IRQ behind PIIX PIRQA..D (board programs PIRQRC) */
    bool isa_rtc, isa_kbd, isa_mouse, isa_com1;
    uint32_t rsdp_addr;        /* direct boot placement */
    uint32_t tables_addr;
    uint32_t tables_max;       /* bytes available at tables_addr */
} AcpiConfig;

/* A pointer field inside "tables" (or the RSDP) that refers to an offset in "tables". */
typedef struct AcpiPointer {
    bool in_rsdp;              /* field is in the RSDP blob, else in "tables" */
    uint32_t offset;           /* of the field */
    uint8_t size;              /* 4 or 8 bytes */
    uint32_t target;           /* offset in "tables" it points at */
} AcpiPointer;

typedef struct AcpiTableInfo {
    char sig[5];
    uint32_t offset;           /* in "tables" */
    uint32_t len;
} AcpiTableInfo;

typedef struct AcpiTables {
    uint8_t *rsdp;             /* 36 bytes */
    size_t rsdp_len;
    uint8_t *tables;
    size_t tables_len;
    hwaddr rsdp_addr, tables_addr;
    AcpiTableInfo *info;       /* every table in "tables", in layout order */
    unsigned nr_info;
    AcpiPointer *pointers;
    unsigned nr_pointers;
} AcpiTables;

/* QEMU pc defaults for a machine with `nr_cpus` CPUs and `below_4g` bytes of low RAM. */
void acpi_config_init_pc(AcpiConfig *cfg, unsigned nr_cpus, uint64_t below_4g,
                         uint64_t above_4g);
bool acpi_build_tables(const AcpiConfig *cfg, AcpiTables *out, Error **errp);
void acpi_tables_free(AcpiTables *t);
/*
 * Direct boot: rom_add_blob() the RSDP and the tables at their addresses and mark the
 * tables area [tables_addr, tables_addr + cfg->tables_max) E820_ACPI in `e820` (the RSDP
 * sits in the BIOS area, already reserved).  Pass t->rsdp_addr to the Linux loader.
 */
void acpi_tables_install(const AcpiTables *t, uint32_t tables_max, E820Table *e820);
/* Table by signature ("DSDT", "FACP", "APIC", ...) or NULL. */
const uint8_t *acpi_find_table(const AcpiTables *t, const char *sig, uint32_t *len);
/* Sum of bytes (a valid table sums to 0 mod 256). */
uint8_t acpi_checksum(const uint8_t *data, size_t len);

#endif
