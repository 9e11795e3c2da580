/*
 * hpet.c: the HPET, if the ACPI tables list one (IA-PC HPET Specification 1.0a §2.3: General
 * Capabilities and ID at 0x000, General Configuration at 0x010, Main Counter at 0x0f0): the
 * capabilities are sane (revision, timer count, period at most 100 ns), the main counter runs
 * only while ENABLE_CNF is set, at the advertised period compared with the ACPI PM timer.
 * Without an HPET table the test passes after saying so.
 */
#include "lib/libk.h"

TEST_NAME("hpet");

static uintptr_t base;

static uint32_t rd(uint32_t off)
{
    return mmio_read32(base + off);
}

static uint64_t counter(void)
{
    /* 32-bit halves: re-read if the high half moved (§2.4.7). */
    uint32_t hi, lo;
    do {
        hi = rd(0xf4);
        lo = rd(0xf0);
    } while (hi != rd(0xf4));
    return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
    const struct acpi_header *h = acpi_find_table("HPET", 0);
    if (!h) {
        printf("no HPET table: nothing to test\n");
        return 0;
    }
    const struct acpi_gas *gas = (const struct acpi_gas *)((const uint8_t *)h + 40);
    CHECK(gas->space_id == 0 && gas->address && gas->address < 0xffffffffull,
          "HPET base not in memory space below 4 GiB");
    base = (uintptr_t)gas->address;
    time_init();

    uint32_t cap = rd(0x000), period = rd(0x004);
    uint32_t ntimers = ((cap >> 8) & 0x1f) + 1;
    printf("HPET at 0x%08x: rev %u, %u timers, %s counter, vendor 0x%04x, period %u fs\n",
           (unsigned)base, cap & 0xff, ntimers, (cap & (1u << 13)) ? "64-bit" : "32-bit",
           cap >> 16, period);
    CHECK((cap & 0xff) != 0, "HPET revision 0");
    CHECK(ntimers >= 3, "HPET has %u timers, the spec requires at least 3", ntimers);
    CHECK(period != 0 && period <= 100000000u, "HPET period %u fs out of range", period);

    uint32_t cfg = rd(0x010);
    mmio_write32(base + 0x010, cfg & ~1u);              /* halt */
    uint64_t c1 = counter();
    delay_us(2000);
    uint64_t c2 = counter();
    printf("halted: counter 0x%llx -> 0x%llx\n", (unsigned long long)c1, (unsigned long long)c2);
    CHECK(c1 == c2, "main counter moved while ENABLE_CNF was clear");

    mmio_write32(base + 0x010, cfg | 1u);
    uint64_t t1 = time_us();
    c1 = counter();
    delay_us(20000);
    c2 = counter();
    uint64_t t2 = time_us();
    mmio_write32(base + 0x010, cfg);
    /* Expected ticks = elapsed us * 1e9 fs/us / period fs. */
    uint32_t unused;
    uint64_t expect = divmod64((t2 - t1) * 1000000000ull, period, &unused);
    uint64_t got = c2 - c1;
    printf("running: %llu ticks in %u us, expected about %llu\n", (unsigned long long)got,
           (unsigned)(t2 - t1), (unsigned long long)expect);
    CHECK(got > 0, "main counter does not run with ENABLE_CNF set");
    CHECK(got * 2 >= expect && got <= expect * 2, "HPET counted %llu ticks, expected ~%llu",
          (unsigned long long)got, (unsigned long long)expect);
    return 0;
}
