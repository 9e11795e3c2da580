/*
 * acpi.c: the ACPI tables a PC guest is given (ACPI 6.4 ch. 5): RSDP found by the
 * 0xE0000-0xFFFFF scan with valid checksums, RSDT and (revision >= 2) XSDT listing the same
 * tables, every listed table's checksum, FADT (PM blocks, DSDT and FACS pointers), DSDT, MADT
 * (one enabled local APIC per CPU counted by fw_cfg NB_CPUS, distinct IDs including the BSP,
 * an I/O APIC at 0xFEC00000, IRQ0 override), HPET if present; the PM timer must be counting.
 */
#include "lib/libk.h"

TEST_NAME("acpi");

static void print_header(const struct acpi_header *h)
{
    printf("  %.4s at 0x%08x length %5u rev %u OEM \"%.6s\" \"%.8s\"\n", h->signature,
           (unsigned)(uintptr_t)h, h->length, h->revision, h->oem_id, h->oem_table_id);
}

static uint64_t sdt_entry(const struct acpi_header *sdt, bool x, uint32_t i)
{
    const uint8_t *ents = (const uint8_t *)(sdt + 1);
    if (x) {
        uint64_t v;
        memcpy(&v, ents + 8 * i, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, ents + 4 * i, 4);
    return v;
}

static uint32_t sdt_count(const struct acpi_header *sdt, bool x)
{
    return (sdt->length - sizeof(*sdt)) / (x ? 8 : 4);
}

static const struct acpi_header *check_sdt(uint64_t addr, const char *sig)
{
    CHECK(addr && addr < 0xffffffffull, "%s address 0x%llx", sig, (unsigned long long)addr);
    const struct acpi_header *h = (const struct acpi_header *)(uintptr_t)addr;
    CHECK(!memcmp(h->signature, sig, 4), "expected %s at 0x%x, found \"%.4s\"", sig,
          (unsigned)addr, h->signature);
    CHECK(h->length >= sizeof(*h), "%s length %u", sig, h->length);
    CHECK(acpi_checksum_ok(h, h->length), "%s checksum bad", sig);
    return h;
}

int main(void)
{
    const struct acpi_rsdp *rsdp = acpi_find_rsdp();
    CHECK(rsdp, "no RSDP in 0xE0000-0xFFFFF");
    printf("RSDP at 0x%08x revision %u OEM \"%.6s\" RSDT 0x%08x", (unsigned)(uintptr_t)rsdp,
           rsdp->revision, rsdp->oem_id, rsdp->rsdt_address);
    if (rsdp->revision >= 2) {
        printf(" XSDT 0x%llx length %u", (unsigned long long)rsdp->xsdt_address, rsdp->length);
        CHECK(rsdp->length >= 36, "RSDP length %u", rsdp->length);
    }
    printf("\n");

    const struct acpi_header *rsdt = check_sdt(rsdp->rsdt_address, "RSDT");
    print_header(rsdt);
    uint32_t n = sdt_count(rsdt, false);
    for (uint32_t i = 0; i < n; i++) {
        const struct acpi_header *h =
            (const struct acpi_header *)(uintptr_t)sdt_entry(rsdt, false, i);
        CHECK(h && acpi_checksum_ok(h, h->length), "RSDT entry %u: bad table", i);
        print_header(h);
    }
    if (rsdp->revision >= 2 && rsdp->xsdt_address) {
        const struct acpi_header *xsdt = check_sdt(rsdp->xsdt_address, "XSDT");
        print_header(xsdt);
        CHECK(sdt_count(xsdt, true) == n, "XSDT lists %u tables, RSDT %u",
              sdt_count(xsdt, true), n);
        for (uint32_t i = 0; i < n; i++) {
            CHECK(sdt_entry(xsdt, true, i) == sdt_entry(rsdt, false, i),
                  "XSDT entry %u differs from the RSDT's", i);
        }
    } else {
        printf("no XSDT (RSDP revision %u)\n", rsdp->revision);
    }

    const struct acpi_fadt *f = acpi_fadt();
    CHECK(f, "no FADT (FACP)");
    CHECK(f->h.length >= 116, "FADT length %u", f->h.length);
    printf("FADT: SCI %u SMI_CMD 0x%x PM1a_EVT 0x%x PM1a_CNT 0x%x PM_TMR 0x%x GPE0 0x%x "
           "flags 0x%x\n", f->sci_int, f->smi_cmd, f->pm1a_evt_blk, f->pm1a_cnt_blk,
           f->pm_tmr_blk, f->gpe0_blk, f->flags);
    CHECK(f->pm1a_evt_blk && f->pm1_evt_len >= 4, "FADT PM1a_EVT 0x%x len %u", f->pm1a_evt_blk,
          f->pm1_evt_len);
    CHECK(f->pm1a_cnt_blk && f->pm1_cnt_len >= 2, "FADT PM1a_CNT 0x%x len %u", f->pm1a_cnt_blk,
          f->pm1_cnt_len);
    CHECK(f->pm_tmr_blk && f->pm_tmr_len == 4, "FADT PM_TMR 0x%x len %u", f->pm_tmr_blk,
          f->pm_tmr_len);

    const struct acpi_header *dsdt = acpi_find_table("DSDT", 0);
    CHECK(dsdt, "no DSDT");
    print_header(dsdt);
    bool s5 = false;
    for (uint32_t i = sizeof(*dsdt); i + 4 <= dsdt->length; i++) {
        s5 |= !memcmp((const char *)dsdt + i, "_S5_", 4);
    }
    printf("DSDT %s an _S5_ object\n", s5 ? "has" : "lacks");
    CHECK(s5, "DSDT has no _S5_ (S5 soft-off) object");

    uint64_t facs_addr = f->firmware_ctrl;
    if (f->h.length >= 140 && f->x_firmware_ctrl) {
        facs_addr = f->x_firmware_ctrl;
    }
    if (facs_addr) {
        const struct acpi_header *facs = (const struct acpi_header *)(uintptr_t)facs_addr;
        printf("FACS at 0x%08x length %u\n", (unsigned)facs_addr, facs->length);
        CHECK(!memcmp(facs->signature, "FACS", 4), "FADT's FACS pointer leads to \"%.4s\"",
              facs->signature);
        CHECK(facs->length >= 64, "FACS length %u", facs->length);
    }

    struct madt_info mi;
    CHECK(madt_parse(&mi), "no MADT (APIC)");
    CHECK(fw_cfg_present(), "no fw_cfg signature");
    uint16_t nb_cpus = fw_cfg_read16(FW_CFG_NB_CPUS);
    printf("MADT: LAPIC at 0x%08x, %d enabled CPUs, %d IOAPIC(s) (id %u at 0x%08x, GSI base %u), "
           "IRQ0 -> GSI %u; fw_cfg NB_CPUS %u\n", mi.lapic_addr, mi.ncpus, mi.nioapics,
           mi.ioapic_id, mi.ioapic_addr, mi.ioapic_gsi_base, mi.irq0_gsi, nb_cpus);
    CHECK(mi.lapic_addr == 0xfee00000u, "MADT local APIC address 0x%x", mi.lapic_addr);
    CHECK(mi.ncpus == nb_cpus, "MADT lists %d enabled CPUs, fw_cfg NB_CPUS %u", mi.ncpus, nb_cpus);
    CHECK(mi.nioapics >= 1, "MADT lists no I/O APIC");
    CHECK(mi.ioapic_addr == IOAPIC_DEFAULT_BASE, "I/O APIC at 0x%x", mi.ioapic_addr);
    CHECK(mi.irq0_override && mi.irq0_gsi == 2, "no IRQ0 -> GSI 2 interrupt source override");
    uint8_t bsp = (uint8_t)(mmio_read32(0xfee00020u) >> 24);
    bool bsp_listed = false;
    for (int i = 0; i < mi.ncpus; i++) {
        bsp_listed |= mi.apic_ids[i] == bsp;
        for (int j = 0; j < i; j++) {
            CHECK(mi.apic_ids[i] != mi.apic_ids[j], "APIC id %u listed twice", mi.apic_ids[i]);
        }
    }
    CHECK(bsp_listed, "BSP APIC id %u not in the MADT", bsp);

    const struct acpi_header *hpet = acpi_find_table("HPET", 0);
    if (hpet) {
        CHECK(hpet->length >= 56, "HPET length %u", hpet->length);
        const struct acpi_gas *base = (const struct acpi_gas *)((const uint8_t *)hpet + 40);
        printf("HPET: base 0x%llx (space %u)\n", (unsigned long long)base->address,
               base->space_id);
        CHECK(base->space_id == 0 && base->address, "HPET base not in memory space");
    } else {
        printf("no HPET table\n");
    }

    /* The PM timer must count (3.58 MHz): two reads 1000 port reads apart differ. */
    uint32_t t1 = inl((uint16_t)f->pm_tmr_blk);
    for (int i = 0; i < 1000; i++) {
        inb(0x80);
    }
    uint32_t t2 = inl((uint16_t)f->pm_tmr_blk);
    printf("PM timer: 0x%08x -> 0x%08x\n", t1, t2);
    CHECK(t1 != t2, "PM timer is not counting");
    return 0;
}
