/*
 * acpi.c: locate ACPI tables (ACPI 6.4 §5.2.5.1: the RSDP lies on a 16-byte boundary in
 * 0xE0000-0xFFFFF; §5.2.5.3 RSDP checksum over 20 bytes and extended checksum over `length`;
 * §5.2.7/5.2.8 RSDT/XSDT; §5.2.9 FADT gives the DSDT) and walk the MADT (§5.2.12).
 */
#include "libk.h"

bool acpi_checksum_ok(const void *p, uint32_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++) {
        sum = (uint8_t)(sum + b[i]);
    }
    return sum == 0;
}

const struct acpi_rsdp *acpi_find_rsdp(void)
{
    for (uintptr_t a = 0xe0000; a < 0x100000; a += 16) {
        const struct acpi_rsdp *r = (const struct acpi_rsdp *)a;
        if (memcmp(r->signature, "RSD PTR ", 8) || !acpi_checksum_ok(r, 20)) {
            continue;
        }
        if (r->revision >= 2 && !acpi_checksum_ok(r, r->length)) {
            test_fail(EXIT_FAIL, "RSDP at 0x%x: bad extended checksum", (unsigned)a);
        }
        return r;
    }
    return NULL;
}

static const struct acpi_header *check_table(uint64_t addr, const char *what)
{
    if (!addr || addr >= 0xffffffffull) {
        test_fail(EXIT_FAIL, "%s: table address 0x%llx not usable", what,
                  (unsigned long long)addr);
    }
    const struct acpi_header *h = (const struct acpi_header *)(uintptr_t)addr;
    if (h->length < sizeof(*h) || h->length > (16u << 20)) {
        test_fail(EXIT_FAIL, "%s at 0x%x: implausible length %u", what, (unsigned)addr,
                  h->length);
    }
    if (!acpi_checksum_ok(h, h->length)) {
        test_fail(EXIT_FAIL, "%s at 0x%x (%.4s): bad checksum", what, (unsigned)addr,
                  h->signature);
    }
    return h;
}

const struct acpi_fadt *acpi_fadt(void)
{
    return (const struct acpi_fadt *)acpi_find_table("FACP", 0);
}

const struct acpi_header *acpi_find_table(const char *sig, int n)
{
    const struct acpi_rsdp *rsdp = acpi_find_rsdp();
    if (!rsdp) {
        return NULL;
    }
    if (!memcmp(sig, "DSDT", 4)) {
        const struct acpi_fadt *f = acpi_fadt();
        if (!f || n) {
            return NULL;
        }
        uint64_t addr = f->dsdt;
        if (f->h.length >= 148 && f->x_dsdt) {
            addr = f->x_dsdt;
        }
        const struct acpi_header *h = check_table(addr, "DSDT");
        if (memcmp(h->signature, "DSDT", 4)) {
            test_fail(EXIT_FAIL, "FADT's DSDT pointer leads to \"%.4s\"", h->signature);
        }
        return h;
    }
    bool x = rsdp->revision >= 2 && rsdp->xsdt_address;
    const struct acpi_header *root = check_table(x ? rsdp->xsdt_address : rsdp->rsdt_address,
                                                 x ? "XSDT" : "RSDT");
    uint32_t esize = x ? 8 : 4;
    uint32_t count = (root->length - sizeof(*root)) / esize;
    const uint8_t *ents = (const uint8_t *)(root + 1);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t addr;
        if (x) {
            memcpy(&addr, ents + i * 8, 8);
        } else {
            uint32_t a32;
            memcpy(&a32, ents + i * 4, 4);
            addr = a32;
        }
        const struct acpi_header *h = check_table(addr, x ? "XSDT entry" : "RSDT entry");
        if (!memcmp(h->signature, sig, 4) && n-- == 0) {
            return h;
        }
    }
    return NULL;
}

bool madt_parse(struct madt_info *mi)
{
    memset(mi, 0, sizeof(*mi));
    for (int i = 0; i < 16; i++) {
        mi->isa_gsi[i] = (uint32_t)i;
    }
    const struct acpi_header *h = acpi_find_table("APIC", 0);
    if (!h) {
        return false;
    }
    const uint8_t *p = (const uint8_t *)h;
    memcpy(&mi->lapic_addr, p + 36, 4);
    for (uint32_t off = 44; off + 2 <= h->length;) {
        uint8_t type = p[off], len = p[off + 1];
        if (len < 2 || off + len > h->length) {
            test_fail(EXIT_FAIL, "MADT: bad entry length %u at offset %u", len, off);
        }
        const uint8_t *e = p + off;
        if (type == 0 && len >= 8) {            /* Processor Local APIC */
            uint32_t flags;
            memcpy(&flags, e + 4, 4);
            if ((flags & 1) && mi->ncpus < (int)ARRAY_SIZE(mi->apic_ids)) {
                mi->apic_ids[mi->ncpus++] = e[3];
            }
        } else if (type == 1 && len >= 12) {    /* I/O APIC */
            if (mi->nioapics++ == 0) {
                mi->ioapic_id = e[2];
                memcpy(&mi->ioapic_addr, e + 4, 4);
                memcpy(&mi->ioapic_gsi_base, e + 8, 4);
            }
        } else if (type == 2 && len >= 10) {    /* Interrupt Source Override */
            if (e[2] == 0 && e[3] < 16) {       /* ISA bus */
                memcpy(&mi->isa_gsi[e[3]], e + 4, 4);
                memcpy(&mi->isa_flags[e[3]], e + 8, 2);
            }
            if (e[2] == 0 && e[3] == 0) {       /* IRQ 0 */
                mi->irq0_override = true;
                memcpy(&mi->irq0_gsi, e + 4, 4);
                memcpy(&mi->irq0_flags, e + 8, 2);
            }
        }
        off += len;
    }
    return true;
}

int madt_isa_route(const struct madt_info *mi, int irq, uint8_t vector, uint64_t *entry)
{
    uint32_t gsi = mi->isa_gsi[irq];
    uint16_t flags = mi->isa_flags[irq];
    if (!mi->nioapics || gsi < mi->ioapic_gsi_base || gsi >= mi->ioapic_gsi_base + 24) {
        return -1;
    }
    /* Fixed delivery, physical destination = this CPU. MPS INTI flags: polarity bits 1:0
     * (3 = active low), trigger bits 3:2 (3 = level); 0 means the ISA default, edge/high. */
    *entry = vector | ((uint64_t)lapic_id() << 56);
    if ((flags & 3) == 3) {
        *entry |= IOREDTBL_LOW;
    }
    if (((flags >> 2) & 3) == 3) {
        *entry |= IOREDTBL_LEVEL;
    }
    return (int)(gsi - mi->ioapic_gsi_base);
}
