/*
 * lapic_timer.c: local APIC timer (SDM Vol. 3A §10.5.4): the current-count register counts
 * down in one-shot mode, a periodic timer delivers TICKS interrupts on its LVT vector within a
 * timeout on the ACPI PM timer and keeps reloading, and masking the LVT stops delivery.
 */
#include "lib/libk.h"

TEST_NAME("lapic_timer");

#define TIMER_VECTOR 0x40
#define TICKS 10

static volatile uint32_t ticks;

static void timer_handler(struct regs *r)
{
    ticks++;
    lapic_eoi();
}

int main(void)
{
    time_init();
    pic_disable();
    lapic_enable();
    irq_set_handler(TIMER_VECTOR, timer_handler);

    /* One-shot, masked: the count must go down, and no interrupt may arrive. */
    lapic_write(LAPIC_TIMER_DIV, 0x3);                  /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    uint64_t t1 = time_us();
    uint32_t c1 = lapic_read(LAPIC_TIMER_CUR);
    delay_us(2000);
    uint32_t c2 = lapic_read(LAPIC_TIMER_CUR);
    uint64_t t2 = time_us();
    printf("one-shot current count: 0x%08x -> 0x%08x in %u us\n", c1, c2, (unsigned)(t2 - t1));
    CHECK(c2 < c1, "current count did not decrease (0x%x -> 0x%x)", c1, c2);
    /* Calibrate: timer counts per ms at divide 16, then aim for a 10 ms period. */
    uint32_t unused;
    uint32_t per_ms = (uint32_t)divmod64((uint64_t)(c1 - c2) * 1000, (uint32_t)(t2 - t1), &unused);
    CHECK(per_ms > 0, "timer runs too slowly to calibrate");
    lapic_write(LAPIC_TIMER_INIT, 0);

    uint32_t period = per_ms * 10;
    printf("%u counts/ms at divide 16, periodic initial count %u\n", per_ms, period);
    uint64_t start = time_us();
    lapic_timer_start(TIMER_VECTOR, period, 0x3, true);
    irq_enable();
    uint64_t deadline = start + 5000000;
    while (ticks < TICKS && time_us() < deadline) {
        cpu_relax();
    }
    uint64_t elapsed = time_us() - start;
    printf("%u ticks in %u us\n", ticks, (unsigned)elapsed);
    CHECK(ticks >= TICKS, "only %u LAPIC timer interrupts in %u us", ticks, (unsigned)elapsed);
    CHECK(elapsed >= (uint64_t)(TICKS - 1) * 10000 / 3, "%u interrupts in only %u us", ticks,
          (unsigned)elapsed);
    uint32_t cur = lapic_read(LAPIC_TIMER_CUR);
    CHECK(cur != 0 && cur <= period, "periodic timer did not reload (current 0x%x)", cur);

    /* Masking stops delivery. */
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC | TIMER_VECTOR);
    delay_us(1000);         /* let an interrupt already pending be taken */
    uint32_t before = ticks;
    delay_us(50000);
    uint32_t after = ticks;
    irq_disable();
    lapic_timer_stop();
    printf("masked: %u ticks during 50 ms\n", after - before);
    CHECK(after == before, "%u interrupts while the LVT was masked", after - before);
    return 0;
}
