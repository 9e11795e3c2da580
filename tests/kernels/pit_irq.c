/*
 * pit_irq.c: PIT channel 0 interrupts through the I/O APIC. The 8259s are masked; IRQ0 is
 * routed to the GSI named by the MADT interrupt source override (ACPI 6.4 §5.2.12.5; pin 2 on
 * a PC), with the override's polarity/trigger flags. Counts TICKS interrupts at 100 Hz within a
 * timeout measured on the ACPI PM timer and checks they did not arrive implausibly fast.
 */
#include "lib/libk.h"

TEST_NAME("pit_irq");

#define PIT_VECTOR 0x30
#define TICKS 10
#define HZ 100

static volatile uint32_t ticks;

static void pit_handler(struct regs *r)
{
    ticks++;
    lapic_eoi();
}

int main(void)
{
    struct madt_info mi;
    CHECK(madt_parse(&mi), "no MADT");
    CHECK(mi.nioapics > 0, "MADT lists no IOAPIC");
    time_init();
    pic_disable();
    lapic_enable();

    printf("IRQ0 -> GSI %u (override %s, flags 0x%x)\n", mi.isa_gsi[0],
           mi.irq0_override ? "yes" : "no", mi.isa_flags[0]);
    uint64_t entry;
    int pin = madt_isa_route(&mi, 0, PIT_VECTOR, &entry);
    CHECK(pin >= 0, "GSI %u not on the IOAPIC", mi.isa_gsi[0]);
    irq_set_handler(PIT_VECTOR, pit_handler);
    ioapic_set_redir(mi.ioapic_addr, pin, entry);
    printf("IOAPIC pin %d = 0x%016llx\n", pin,
           (unsigned long long)ioapic_get_redir(mi.ioapic_addr, pin));

    uint64_t start = time_us();
    pit_start_periodic(HZ);
    irq_enable();
    uint64_t deadline = start + 5000000;
    while (ticks < TICKS && time_us() < deadline) {
        cpu_relax();
    }
    irq_disable();
    uint64_t elapsed = time_us() - start;
    pit_stop();
    ioapic_set_redir(mi.ioapic_addr, pin, IOREDTBL_MASKED);
    printf("%u ticks in %u us\n", ticks, (unsigned)elapsed);
    CHECK(ticks >= TICKS, "only %u PIT interrupts in %u us", ticks, (unsigned)elapsed);
    /* 10 ticks at 100 Hz take ~90-100 ms; far less means a storm, not a timer. */
    CHECK(elapsed >= (uint64_t)(TICKS - 1) * 1000000 / HZ / 3,
          "%u PIT interrupts in only %u us", ticks, (unsigned)elapsed);
    return 0;
}
