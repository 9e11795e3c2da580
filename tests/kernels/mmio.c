/*
 * mmio.c: 32-bit MMIO to the interrupt controllers:
 *  - I/O APIC (82093AA datasheet §3.2; address from the MADT): version register (version
 *    0x11 or 0x20, at least 24 redirection entries), ID register, and a redirection entry
 *    written (masked) and read back, both halves;
 *  - local APIC (SDM Vol. 3A §10.4): IA32_APIC_BASE (0xFEE00000, enabled, BSP flag), version
 *    register (integrated APIC 0x1x, at least 4 LVT entries), ID register equal to
 *    CPUID.1:EBX[31:24], TPR read/write.
 */
#include "lib/libk.h"

TEST_NAME("mmio");

int main(void)
{
    struct madt_info mi;
    uintptr_t ioapic = IOAPIC_DEFAULT_BASE;
    if (madt_parse(&mi) && mi.nioapics) {
        ioapic = mi.ioapic_addr;
    }
    printf("IOAPIC at 0x%08x\n", (unsigned)ioapic);
    CHECK(ioapic == IOAPIC_DEFAULT_BASE, "IOAPIC at 0x%x, expected 0xfec00000", (unsigned)ioapic);

    uint32_t ver = ioapic_read(ioapic, IOAPIC_REG_VER);
    uint32_t maxent = (ver >> 16) & 0xff;
    printf("IOAPIC version register 0x%08x: version 0x%02x, max redirection entry %u\n", ver,
           ver & 0xff, maxent);
    CHECK((ver & 0xff) == 0x11 || (ver & 0xff) == 0x20, "IOAPIC version 0x%02x", ver & 0xff);
    CHECK(maxent >= 23, "IOAPIC max redirection entry %u < 23", maxent);
    uint32_t idreg = ioapic_read(ioapic, IOAPIC_REG_ID);
    printf("IOAPIC ID register 0x%08x (MADT says id %u)\n", idreg, mi.ioapic_id);
    CHECK(((idreg >> 24) & 0xf) == mi.ioapic_id, "IOAPIC ID %u, MADT %u", (idreg >> 24) & 0xf,
          mi.ioapic_id);

    /* Redirection entry 23 round trip (kept masked): vector, level, low, destination. */
    uint64_t old = ioapic_get_redir(ioapic, 23);
    uint64_t want = ((uint64_t)0x5a << 56) | IOREDTBL_MASKED | IOREDTBL_LEVEL | IOREDTBL_LOW | 0x7b;
    ioapic_set_redir(ioapic, 23, want);
    uint64_t got = ioapic_get_redir(ioapic, 23);
    printf("IOAPIC redir[23] wrote 0x%016llx read 0x%016llx\n", (unsigned long long)want,
           (unsigned long long)got);
    /* Bits 12 (delivery status) and 14 (remote IRR) are read-only. */
    uint64_t mask = ~(uint64_t)((1u << 12) | (1u << 14));
    CHECK((got & mask) == (want & mask), "redirection entry read back 0x%llx",
          (unsigned long long)got);
    ioapic_set_redir(ioapic, 23, old | IOREDTBL_MASKED);

    uint64_t base = rdmsr(0x1b);
    printf("IA32_APIC_BASE 0x%llx\n", (unsigned long long)base);
    CHECK((base & 0xfffff000u) == 0xfee00000u, "APIC base 0x%llx", (unsigned long long)base);
    CHECK(base & (1u << 8), "BSP flag clear in IA32_APIC_BASE");
    lapic_enable();
    uint32_t lver = lapic_read(LAPIC_VERSION);
    printf("LAPIC version register 0x%08x: version 0x%02x, max LVT %u\n", lver, lver & 0xff,
           (lver >> 16) & 0xff);
    CHECK((lver & 0xf0) == 0x10, "LAPIC version 0x%02x is not an integrated APIC", lver & 0xff);
    CHECK(((lver >> 16) & 0xff) >= 4, "LAPIC max LVT entry %u < 4", (lver >> 16) & 0xff);

    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    printf("LAPIC id %u, CPUID initial APIC id %u\n", lapic_id(), b >> 24);
    CHECK(lapic_id() == (b >> 24), "LAPIC ID %u != CPUID APIC ID %u", lapic_id(), b >> 24);
    CHECK(d & (1u << 9), "CPUID.1:EDX.APIC clear");

    lapic_write(LAPIC_TPR, 0x20);
    uint32_t tpr = lapic_read(LAPIC_TPR);
    lapic_write(LAPIC_TPR, 0);
    printf("LAPIC TPR wrote 0x20 read 0x%02x\n", tpr);
    CHECK((tpr & 0xff) == 0x20, "TPR read back 0x%x", tpr);
    uint32_t svr = lapic_read(LAPIC_SVR);
    CHECK((svr & 0x1ff) == (0x100 | SPURIOUS_VECTOR), "SVR read back 0x%x", svr);
    return 0;
}
