/*
 * ACPI table generation for the pc board (ACPI 6.4 §5.2: RSDP §5.2.5, RSDT §5.2.7,
 * XSDT §5.2.8, FADT §5.2.9 (revision 3 layout, Table 5.9), FACS §5.2.10, DSDT §5.2.11.1,
 * MADT §5.2.12 (entries §5.2.12.2/.3/.5/.7); HPET: IA-PC HPET Specification 1.0a
 * §3.2.4).  Values mirror what QEMU's pc machine presents (PIIX4 PM at 0x600, SCI 9,
 * level/high overrides for IRQs 5, 9, 10, 11, IRQ0 -> GSI 2, LINT1 NMI).
 */
#include "hw/i386/acpi.h"
#include "kemu/bswap.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "hw/i386/aml.h"
#include "hw/loader.h"

#define ACPI_OEM_ID       "KEMU  "
#define ACPI_OEM_TABLE_ID "KEMUPC  "
#define ACPI_CREATOR_ID   "KEMU"

#define FADT_REV3_LEN     244
#define FACS_LEN          64

/* FADT fixed feature flags (Table 5.10) */
#define FADT_F_WBINVD              (1u << 0)
#define FADT_F_PROC_C1             (1u << 2)
#define FADT_F_SLP_BUTTON          (1u << 5)
#define FADT_F_RTC_S4              (1u << 7)
#define FADT_F_RESET_REG_SUP       (1u << 10)
#define FADT_F_USE_PLATFORM_CLOCK  (1u << 15)
#define FADT_F_FORCE_APIC_CLUSTER  (1u << 18)

/* IA-PC boot architecture flags (Table 5.11) */
#define IAPC_LEGACY_DEVICES 0x1
#define IAPC_8042           0x2

typedef struct Builder {
    GByteArray *t;
    GArray *info;      /* AcpiTableInfo */
    GArray *ptrs;      /* AcpiPointer */
    uint32_t base;
} Builder;

static void w8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += data[i];
    }
    return s;
}

static void acpi_header(uint8_t *h, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(h, sig, 4);
    stl_le_p(h + 4, len);
    w8(h + 8, rev);
    w8(h + 9, 0);
    memcpy(h + 10, ACPI_OEM_ID, 6);
    memcpy(h + 16, ACPI_OEM_TABLE_ID, 8);
    stl_le_p(h + 24, 1);
    memcpy(h + 28, ACPI_CREATOR_ID, 4);
    stl_le_p(h + 32, 1);
}

/* Append a table (data, len) aligned to `align`; fixes its checksum unless FACS. */
static uint32_t add_table(Builder *b, const uint8_t *data, uint32_t len, unsigned align)
{
    uint32_t off;
    AcpiTableInfo ti = { .offset = 0 };

    while (b->t->len % align) {
        g_byte_array_append(b->t, (const uint8_t *)"", 1);
    }
    off = b->t->len;
    g_byte_array_append(b->t, data, len);
    memcpy(ti.sig, data, 4);
    ti.offset = off;
    ti.len = len;
    g_array_append_val(b->info, ti);
    return off;
}

static void finish_checksum(uint8_t *table, uint32_t len)
{
    table[9] = 0;
    table[9] = -acpi_checksum(table, len);
}

static void set_ptr(Builder *b, uint8_t *field_base, bool in_rsdp, uint32_t field_off,
                    uint8_t size, uint32_t target)
{
    AcpiPointer p = { in_rsdp, field_off, size, target };
    uint64_t addr = (uint64_t)b->base + target;

    if (size == 4) {
        stl_le_p(field_base + field_off, addr);
    } else {
        stq_le_p(field_base + field_off, addr);
    }
    g_array_append_val(b->ptrs, p);
}

static void gas_io(uint8_t *g, uint8_t bit_width, uint64_t addr)
{
    w8(g, 1);          /* SystemIO */
    w8(g + 1, bit_width);
    w8(g + 2, 0);
    w8(g + 3, 0);      /* access size undefined (legacy) */
    stq_le_p(g + 4, addr);
}

static Aml *crs_device(const char *name, const char *hid, Aml *crs)
{
    Aml *dev = aml_device(name);

    aml_append(dev, aml_name_decl("_HID", aml_eisaid(hid)));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static uint8_t *build_dsdt(const AcpiConfig *cfg, size_t *len_out)
{
    Aml *root = aml_block_root();
    Aml *sb = aml_scope("\\_SB");
    Aml *pci = aml_device("PCI0");
    Aml *crs, *isa, *prt;
    static const char link_names[4][5] = { "LNKA", "LNKB", "LNKC", "LNKD" };

    aml_append(pci, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    /* No _ADR: a device has _HID or _ADR, not both (§6.1). */
    aml_append(pci, aml_name_decl("_UID", aml_int(0)));
    aml_append(pci, aml_name_decl("_BBN", aml_int(0)));

    /* Host bridge windows (PCI Firmware Spec 3.2 §4.1.3 via _CRS). */
    crs = aml_resource_template();
    aml_append(crs, aml_word_bus_number(0x00, 0xff));
    aml_append(crs, aml_io(0x0cf8, 0x0cf8, 0x01, 0x08));
    aml_append(crs, aml_word_io(0x0000, 0x0cf7));
    aml_append(crs, aml_word_io(0x0d00, 0xffff));
    aml_append(crs, aml_dword_memory(0x000a0000, 0x000bffff, true));
    if (cfg->pci_hole_end > cfg->pci_hole_start) {
        aml_append(crs, aml_dword_memory(cfg->pci_hole_start, cfg->pci_hole_end, false));
    }
    if (cfg->pci_hole64_size) {
        aml_append(crs, aml_qword_memory(cfg->pci_hole64_start,
                                         cfg->pci_hole64_start + cfg->pci_hole64_size - 1,
                                         true));
    }
    aml_append(pci, aml_name_decl("_CRS", crs));

    /*
     * _PRT (§6.2.13): device d, pin p (INTA=0) goes to PIIX PIRQ (d + p - 1) & 3, the
     * i440FX swizzle; each PIRQ is a link device with one fixed interrupt.
     */
    prt = aml_package();
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            Aml *e = aml_package();
            aml_append(e, aml_int(((uint64_t)slot << 16) | 0xffff));
            aml_append(e, aml_int(pin));
            aml_append(e, aml_name(link_names[(slot + pin + 3) & 3]));
            aml_append(e, aml_int(0));
            aml_append(prt, e);
        }
    }
    aml_append(pci, aml_name_decl("_PRT", prt));

    isa = aml_device("ISA");
    aml_append(isa, aml_name_decl("_ADR", aml_int(0x00010000)));   /* 00:01.0 PIIX3 */
    if (cfg->isa_rtc) {
        crs = aml_resource_template();
        aml_append(crs, aml_io(0x70, 0x70, 0x01, 0x08));
        aml_append(crs, aml_irq_no_flags(8));
        aml_append(isa, crs_device("RTC", "PNP0B00", crs));
    }
    if (cfg->isa_kbd) {
        crs = aml_resource_template();
        aml_append(crs, aml_io(0x60, 0x60, 0x01, 0x01));
        aml_append(crs, aml_io(0x64, 0x64, 0x01, 0x01));
        aml_append(crs, aml_irq_no_flags(1));
        aml_append(isa, crs_device("KBD", "PNP0303", crs));
    }
    if (cfg->isa_mouse) {
        crs = aml_resource_template();
        aml_append(crs, aml_irq_no_flags(12));
        aml_append(isa, crs_device("MOU", "PNP0F13", crs));
    }
    if (cfg->isa_com1) {
        Aml *dev;
        crs = aml_resource_template();
        aml_append(crs, aml_io(0x3f8, 0x3f8, 0x00, 0x08));
        aml_append(crs, aml_irq_no_flags(4));
        dev = aml_device("COM1");
        aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
        aml_append(dev, aml_name_decl("_UID", aml_int(1)));
        aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
        aml_append(dev, aml_name_decl("_CRS", crs));
        aml_append(isa, dev);
    }
    aml_append(pci, isa);
    aml_append(sb, pci);

    /* PCI interrupt links (PNP0C0F), fixed routing: level, active high, shared. */
    for (unsigned i = 0; i < 4; i++) {
        Aml *lnk = aml_device(link_names[i]);
        aml_append(lnk, aml_name_decl("_HID", aml_eisaid("PNP0C0F")));
        aml_append(lnk, aml_name_decl("_UID", aml_int(i)));
        aml_append(lnk, aml_name_decl("_STA", aml_int(0xb)));
        crs = aml_resource_template();
        aml_append(crs, aml_interrupt(true, false, true, cfg->pirq_irqs[i]));
        aml_append(lnk, aml_name_decl("_PRS", crs));
        crs = aml_resource_template();
        aml_append(crs, aml_interrupt(true, false, true, cfg->pirq_irqs[i]));
        aml_append(lnk, aml_name_decl("_CRS", crs));
        /* Routing is fixed by the board: accept the only setting we offer. */
        aml_append(lnk, aml_method("_SRS", 1, false));
        aml_append(sb, lnk);
    }

    /*
     * Processor devices (§8.4, ACPI0007), one per possible CPU; _UID matches the MADT
     * ACPI Processor UID.  Absent CPUs (beyond nr_cpus) report _STA 0.
     */
    unsigned max = cfg->max_cpus ? cfg->max_cpus : cfg->nr_cpus;
    for (unsigned i = 0; i < max; i++) {
        char name[8];
        Aml *cpu;
        snprintf(name, sizeof(name), "C%03X", i & 0xfff);
        cpu = aml_device(name);
        aml_append(cpu, aml_name_decl("_HID", aml_string("ACPI0007")));
        aml_append(cpu, aml_name_decl("_UID", aml_int(i)));
        aml_append(cpu, aml_name_decl("_STA", aml_int(i < cfg->nr_cpus ? 0xf : 0)));
        aml_append(sb, cpu);
    }

    if (cfg->hpet) {
        Aml *dev = aml_device("HPET");
        aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0103")));
        aml_append(dev, aml_name_decl("_UID", aml_int(0)));
        aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
        crs = aml_resource_template();
        aml_append(crs, aml_memory32_fixed(0xfed00000, 0x400, false));
        aml_append(dev, aml_name_decl("_CRS", crs));
        aml_append(sb, dev);
    }
    aml_append(root, sb);

    /* \_S5: SLP_TYPa/b = 0, which the PIIX4 PM block treats as soft-off (§7.4.2). */
    Aml *s5 = aml_package();
    for (int i = 0; i < 4; i++) {
        aml_append(s5, aml_int(0));
    }
    aml_append(root, aml_name_decl("\\_S5", s5));

    size_t aml_len;
    uint8_t *aml = aml_take_bytes(root, &aml_len);
    uint8_t *t = g_malloc0(36 + aml_len);
    acpi_header(t, "DSDT", 36 + aml_len, 2);   /* revision 2: 64-bit integers */
    memcpy(t + 36, aml, aml_len);
    g_free(aml);
    finish_checksum(t, 36 + aml_len);
    *len_out = 36 + aml_len;
    return t;
}

void acpi_config_init_pc(AcpiConfig *cfg, unsigned nr_cpus, uint64_t below_4g,
                         uint64_t above_4g)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_cpus = nr_cpus;
    cfg->max_cpus = nr_cpus;
    cfg->ioapic_id = 0;
    cfg->ioapic_addr = 0xfec00000;
    cfg->hpet = true;
    cfg->pm_base = 0x600;
    cfg->gpe0_base = 0xafe0;
    cfg->sci_irq = 9;
    cfg->smi_cmd = 0xb2;
    cfg->acpi_enable = 0xf1;
    cfg->acpi_disable = 0xf0;
    cfg->pci_hole_start = below_4g;
    cfg->pci_hole_end = 0xfebfffff;
    if (above_4g) {
        /* 64-bit window after high RAM, 1 GiB aligned, 32 GiB (QEMU's pci-hole64-size). */
        cfg->pci_hole64_start = (0x100000000ull + above_4g + 0x3fffffffull) & ~0x3fffffffull;
        cfg->pci_hole64_size = 32ull << 30;
    }
    cfg->pirq_irqs[0] = 10;   /* what SeaBIOS programs into PIIX PIRQRC[A..D] */
    cfg->pirq_irqs[1] = 10;
    cfg->pirq_irqs[2] = 11;
    cfg->pirq_irqs[3] = 11;
    cfg->isa_rtc = cfg->isa_kbd = cfg->isa_mouse = cfg->isa_com1 = true;
    cfg->rsdp_addr = ACPI_DIRECT_RSDP_ADDR;
    cfg->tables_addr = ACPI_DIRECT_TABLES_ADDR;
    cfg->tables_max = ACPI_DIRECT_TABLES_SIZE;
}

static uint8_t *build_madt(const AcpiConfig *cfg, size_t *len_out, Error **errp)
{
    unsigned max = cfg->max_cpus ? cfg->max_cpus : cfg->nr_cpus;
    uint32_t overrides = (1u << 5) | (1u << 9) | (1u << 10) | (1u << 11);
    GByteArray *m = g_byte_array_new();
    uint8_t e[12];

    g_byte_array_set_size(m, 44);
    memset(m->data, 0, 44);
    stl_le_p(m->data + 36, 0xfee00000);     /* local APIC address */
    stl_le_p(m->data + 40, 1);              /* PCAT_COMPAT: dual 8259s present */
    for (unsigned i = 0; i < max; i++) {
        uint32_t id = cfg->apic_ids ? cfg->apic_ids[i] : i;
        if (id > 254 || i > 254) {
            error_setg(errp, "ACPI: APIC ID %u needs x2APIC MADT entries (unsupported)", id);
            g_byte_array_free(m, TRUE);
            return NULL;
        }
        e[0] = 0;                      /* Processor Local APIC */
        e[1] = 8;
        e[2] = i;                      /* ACPI processor UID */
        e[3] = id;
        stl_le_p(e + 4, i < cfg->nr_cpus ? 1 : 0);   /* Enabled */
        g_byte_array_append(m, e, 8);
    }
    e[0] = 1;                          /* I/O APIC */
    e[1] = 12;
    e[2] = cfg->ioapic_id;
    e[3] = 0;
    stl_le_p(e + 4, cfg->ioapic_addr ? cfg->ioapic_addr : 0xfec00000);
    stl_le_p(e + 8, 0);                     /* GSI base */
    g_byte_array_append(m, e, 12);

    /* ISA IRQ0 (PIT) is wired to IOAPIC pin 2; conforming polarity/trigger. */
    e[0] = 2;
    e[1] = 10;
    e[2] = 0;                          /* bus: ISA */
    e[3] = 0;
    stl_le_p(e + 4, 2);
    stw_le_p(e + 8, 0);
    g_byte_array_append(m, e, 10);
    /* SCI and PCI interrupt lines behind the PIIX: level, active high (flags 0xd). */
    overrides |= 1u << (cfg->sci_irq & 15);
    for (int i = 0; i < 4; i++) {
        overrides |= 1u << (cfg->pirq_irqs[i] & 15);
    }
    for (unsigned irq = 1; irq < 16; irq++) {
        if (!(overrides & (1u << irq))) {
            continue;
        }
        e[0] = 2;
        e[1] = 10;
        e[2] = 0;
        e[3] = irq;
        stl_le_p(e + 4, irq);
        stw_le_p(e + 8, 0xd);
        g_byte_array_append(m, e, 10);
    }
    e[0] = 4;                          /* Local APIC NMI: all processors, LINT1 */
    e[1] = 6;
    e[2] = 0xff;
    stw_le_p(e + 3, 0);
    e[5] = 1;
    g_byte_array_append(m, e, 6);

    acpi_header(m->data, "APIC", m->len, 1);
    finish_checksum(m->data, m->len);
    *len_out = m->len;
    return g_byte_array_free(m, FALSE);
}

bool acpi_build_tables(const AcpiConfig *cfg, AcpiTables *out, Error **errp)
{
    Builder b = {
        .t = g_byte_array_new(),
        .info = g_array_new(FALSE, TRUE, sizeof(AcpiTableInfo)),
        .ptrs = g_array_new(FALSE, TRUE, sizeof(AcpiPointer)),
        .base = cfg->tables_addr,
    };
    uint8_t facs[FACS_LEN] = { 0 }, fadt[FADT_REV3_LEN] = { 0 }, hpet[56] = { 0 };
    uint8_t *dsdt, *madt;
    size_t dsdt_len, madt_len;
    uint32_t facs_off, dsdt_off, fadt_off, madt_off, hpet_off = 0, rsdt_off, xsdt_off;
    unsigned max = cfg->max_cpus ? cfg->max_cpus : cfg->nr_cpus;

    memset(out, 0, sizeof(*out));
    if (cfg->nr_cpus == 0 || max < cfg->nr_cpus) {
        error_setg(errp, "ACPI: invalid CPU count %u (max %u)", cfg->nr_cpus, max);
        goto fail;
    }
    madt = build_madt(cfg, &madt_len, errp);
    if (!madt) {
        goto fail;
    }

    /* FACS: 64-byte aligned (§5.2.10), no checksum. */
    memcpy(facs, "FACS", 4);
    stl_le_p(facs + 4, FACS_LEN);
    w8(facs + 32, 2);                  /* version */
    facs_off = add_table(&b, facs, FACS_LEN, 64);

    dsdt = build_dsdt(cfg, &dsdt_len);
    dsdt_off = add_table(&b, dsdt, dsdt_len, 8);
    g_free(dsdt);

    /* FADT, revision 3 layout (offsets per Table 5.9). */
    acpi_header(fadt, "FACP", FADT_REV3_LEN, 3);
    stw_le_p(fadt + 46, cfg->sci_irq);
    stl_le_p(fadt + 48, cfg->smi_cmd);
    w8(fadt + 52, cfg->smi_cmd ? cfg->acpi_enable : 0);
    w8(fadt + 53, cfg->smi_cmd ? cfg->acpi_disable : 0);
    stl_le_p(fadt + 56, cfg->pm_base);              /* PM1a_EVT_BLK */
    stl_le_p(fadt + 64, cfg->pm_base + 4);          /* PM1a_CNT_BLK */
    stl_le_p(fadt + 76, cfg->pm_base + 8);          /* PM_TMR_BLK */
    stl_le_p(fadt + 80, cfg->gpe0_base);            /* GPE0_BLK */
    w8(fadt + 88, 4);                          /* PM1_EVT_LEN */
    w8(fadt + 89, 2);                          /* PM1_CNT_LEN */
    w8(fadt + 91, 4);                          /* PM_TMR_LEN */
    w8(fadt + 92, 4);                          /* GPE0_BLK_LEN */
    stw_le_p(fadt + 96, 0x0fff);                    /* P_LVL2_LAT: C2 unsupported */
    stw_le_p(fadt + 98, 0x0fff);                    /* P_LVL3_LAT: C3 unsupported */
    w8(fadt + 108, cfg->isa_rtc ? 0x32 : 0);   /* CMOS century index */
    stw_le_p(fadt + 109, (cfg->isa_rtc || cfg->isa_com1 ? IAPC_LEGACY_DEVICES : 0) |
                    (cfg->isa_kbd ? IAPC_8042 : 0));
    stl_le_p(fadt + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
                    FADT_F_USE_PLATFORM_CLOCK |
                    (cfg->reset_reg ? FADT_F_RESET_REG_SUP : 0) |
                    (max > 8 ? FADT_F_FORCE_APIC_CLUSTER : 0));
    if (cfg->reset_reg) {
        gas_io(fadt + 116, 8, 0xcf9);
        w8(fadt + 128, 0x06);
    }
    gas_io(fadt + 148, 32, cfg->pm_base);      /* X_PM1a_EVT_BLK */
    gas_io(fadt + 172, 16, cfg->pm_base + 4);  /* X_PM1a_CNT_BLK */
    gas_io(fadt + 208, 32, cfg->pm_base + 8);  /* X_PM_TMR_BLK */
    gas_io(fadt + 220, 32, cfg->gpe0_base);    /* X_GPE0_BLK */
    fadt_off = add_table(&b, fadt, FADT_REV3_LEN, 8);
    uint8_t *f = b.t->data + fadt_off;
    /* X_FIRMWARE_CTRL stays 0: it "must be zero" when FIRMWARE_CTRL is set (Table 5.9). */
    set_ptr(&b, f, false, 36, 4, facs_off);     /* FIRMWARE_CTRL */
    set_ptr(&b, f, false, 40, 4, dsdt_off);     /* DSDT */
    set_ptr(&b, f, false, 140, 8, dsdt_off);    /* X_DSDT (same table) */
    /* Pointer records hold field offsets relative to the blob, not the table. */
    for (guint i = b.ptrs->len - 3; i < b.ptrs->len; i++) {
        g_array_index(b.ptrs, AcpiPointer, i).offset += fadt_off;
    }
    finish_checksum(f, FADT_REV3_LEN);

    madt_off = add_table(&b, madt, madt_len, 8);
    g_free(madt);

    if (cfg->hpet) {
        acpi_header(hpet, "HPET", sizeof(hpet), 1);
        /* Event Timer Block ID: Intel, legacy-replacement capable, 64-bit, 3 timers. */
        stl_le_p(hpet + 36, 0x8086a201);
        w8(hpet + 40, 0);                       /* base address: SystemMemory */
        stq_le_p(hpet + 44, 0xfed00000);
        finish_checksum(hpet, sizeof(hpet));
        hpet_off = add_table(&b, hpet, sizeof(hpet), 8);
    }

    /* RSDT and XSDT list FADT, MADT, HPET. */
    uint32_t targets[3] = { fadt_off, madt_off, hpet_off };
    unsigned n = cfg->hpet ? 3 : 2;
    uint8_t rsdt[36 + 4 * 3] = { 0 }, xsdt[36 + 8 * 3] = { 0 };
    acpi_header(rsdt, "RSDT", 36 + 4 * n, 1);
    acpi_header(xsdt, "XSDT", 36 + 8 * n, 1);
    rsdt_off = add_table(&b, rsdt, 36 + 4 * n, 8);
    for (unsigned i = 0; i < n; i++) {
        set_ptr(&b, b.t->data, false, rsdt_off + 36 + 4 * i, 4, targets[i]);
    }
    finish_checksum(b.t->data + rsdt_off, 36 + 4 * n);
    xsdt_off = add_table(&b, xsdt, 36 + 8 * n, 8);
    for (unsigned i = 0; i < n; i++) {
        set_ptr(&b, b.t->data, false, xsdt_off + 36 + 8 * i, 8, targets[i]);
    }
    finish_checksum(b.t->data + xsdt_off, 36 + 8 * n);

    if (cfg->tables_max && b.t->len > cfg->tables_max) {
        error_setg(errp, "ACPI tables need %u bytes, only %u available at 0x%x",
                   b.t->len, cfg->tables_max, cfg->tables_addr);
        goto fail;
    }

    /* RSDP revision 2 (Table 5.3). */
    out->rsdp = g_malloc0(36);
    out->rsdp_len = 36;
    memcpy(out->rsdp, "RSD PTR ", 8);
    memcpy(out->rsdp + 9, ACPI_OEM_ID, 6);
    w8(out->rsdp + 15, 2);
    set_ptr(&b, out->rsdp, true, 16, 4, rsdt_off);
    stl_le_p(out->rsdp + 20, 36);
    set_ptr(&b, out->rsdp, true, 24, 8, xsdt_off);
    out->rsdp[8] = -acpi_checksum(out->rsdp, 20);
    out->rsdp[32] = -acpi_checksum(out->rsdp, 36);

    out->rsdp_addr = cfg->rsdp_addr;
    out->tables_addr = cfg->tables_addr;
    out->tables_len = b.t->len;
    out->tables = g_byte_array_free(b.t, FALSE);
    out->nr_info = b.info->len;
    out->info = (AcpiTableInfo *)(void *)g_array_free(b.info, FALSE);
    out->nr_pointers = b.ptrs->len;
    out->pointers = (AcpiPointer *)(void *)g_array_free(b.ptrs, FALSE);
    return true;

fail:
    g_byte_array_free(b.t, TRUE);
    g_array_free(b.info, TRUE);
    g_array_free(b.ptrs, TRUE);
    acpi_tables_free(out);
    return false;
}

void acpi_tables_free(AcpiTables *t)
{
    g_free(t->rsdp);
    g_free(t->tables);
    g_free(t->info);
    g_free(t->pointers);
    memset(t, 0, sizeof(*t));
}

const uint8_t *acpi_find_table(const AcpiTables *t, const char *sig, uint32_t *len)
{
    for (unsigned i = 0; i < t->nr_info; i++) {
        if (!strncmp(t->info[i].sig, sig, 4)) {
            if (len) {
                *len = t->info[i].len;
            }
            return t->tables + t->info[i].offset;
        }
    }
    return NULL;
}

void acpi_tables_install(const AcpiTables *t, uint32_t tables_max, E820Table *e820)
{
    rom_add_blob("acpi tables", t->tables, t->tables_len, t->tables_addr);
    rom_add_blob("acpi rsdp", t->rsdp, t->rsdp_len, t->rsdp_addr);
    e820_add_entry(e820, t->tables_addr, tables_max > t->tables_len ? tables_max
                                                                    : t->tables_len,
                   E820_ACPI);
}
