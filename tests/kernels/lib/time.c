/*
 * time.c: a monotonic microsecond clock on the ACPI power-management timer (ACPI 6.4
 * §4.8.3.3: 3.579545 MHz, 24 bits, or 32 bits when FADT flag TMR_VAL_EXT is set), used for
 * delays and for the timeouts that keep every test bounded (a stuck timer fails the test).
 */
#include "libk.h"

#define PM_TIMER_HZ 3579545u

static uint16_t pm_port;
static uint32_t pm_mask, pm_last;
static uint64_t pm_ticks;
static uint32_t pm_same;        /* consecutive reads without change: a stuck timer */

void time_init(void)
{
    const struct acpi_fadt *f = acpi_fadt();
    if (!f) {
        test_fail(EXIT_FAIL, "no FADT: cannot find the ACPI PM timer");
    }
    uint32_t port = f->pm_tmr_blk;
    if (!port && f->h.length >= 244 && f->x_pm_tmr_blk.space_id == 1) {
        port = (uint32_t)f->x_pm_tmr_blk.address;
    }
    if (!port || port > 0xffff) {
        test_fail(EXIT_FAIL, "FADT has no usable PM timer block (0x%x)", port);
    }
    pm_port = (uint16_t)port;
    pm_mask = (f->flags & FADT_TMR_VAL_EXT) ? 0xffffffffu : 0xffffffu;
    pm_last = inl(pm_port) & pm_mask;
    pm_ticks = 0;
}

uint64_t time_us(void)
{
    if (!pm_port) {
        time_init();
    }
    uint32_t now = inl(pm_port) & pm_mask;
    /* Every timeout depends on this clock: a timer that stopped would hang the test. One
     * tick is 0.28 us, so a million equal reads in a row cannot happen on a working timer. */
    if (now == pm_last && ++pm_same > 1000000) {
        pm_same = 0;
        test_fail(EXIT_TIMEOUT, "the ACPI PM timer (port 0x%x) is not counting", pm_port);
    } else if (now != pm_last) {
        pm_same = 0;
    }
    pm_ticks += (now - pm_last) & pm_mask;
    pm_last = now;
    /* ticks * 1e6 / 3579545 without 64-bit division helpers: split whole seconds off. */
    uint32_t rem, unused;
    uint64_t secs = divmod64(pm_ticks, PM_TIMER_HZ, &rem);
    return secs * 1000000u + divmod64((uint64_t)rem * 1000000u, PM_TIMER_HZ, &unused);
}

void delay_us(uint32_t us)
{
    uint64_t end = time_us() + us;
    while (time_us() < end) {
        cpu_relax();
    }
}
