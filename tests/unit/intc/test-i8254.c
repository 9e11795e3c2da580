/*
 * 8254 PIT (hw/timer/i8254.c) and port 0x61 on the stepped virtual clock: reset state
 * and register read-backs (the static sequences checked against QEMU 7.2 in
 * tests/functional/intc), IRQ0 edges in modes 0, 2, 3 and 4, counter values, latch and
 * read-back commands, BCD, gate 2 through port 0x61 (Linux's PIT calibration loop), gate
 * semantics of modes 1, 2 and 3, vmstate.
 */
#include <glib.h>

#include "hw/timer/i8254.h"
#include "intc-test.h"

static PITState *pit;
static LineRec irq0;

/* Ticks in `ns` of virtual time and the first ns at which `ticks` have elapsed. */
static uint64_t ticks_in(int64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_FREQ / NANOSECONDS_PER_SECOND);
}

static int64_t ns_for(uint64_t ticks)
{
    return (int64_t)(((unsigned __int128)ticks * NANOSECONDS_PER_SECOND + PIT_FREQ - 1) /
                     PIT_FREQ);
}

static uint8_t status(int c)
{
    outb(0x43, 0xe0 | (2 << c));
    return inb(0x40 + c);
}

static uint16_t read16(int c)
{
    uint8_t lo = inb(0x40 + c);
    return lo | inb(0x40 + c) << 8;
}

static void reset(void)
{
    device_type_find(TYPE_ISA_PIT)->reset((DeviceState *)pit);
    device_type_find(TYPE_ISA_PCSPK)->reset(qdev_find_by_id("pcspk"));
    /* Reset leaves OUT0 high without driving an edge (the controllers reset too). */
    irq0 = (LineRec){ .level = 1 };
}

static void test_reset_state(void)
{
    reset();
    for (int c = 0; c < 3; c++) {
        g_assert_cmphex(status(c), ==, 0x86);
    }
    g_assert_cmphex(inb(0x40), ==, 0x00);
    g_assert_cmphex(inb(0x41), ==, 0x00);
    g_assert_cmphex(inb(0x42), ==, 0x00);
    g_assert_cmphex(inb(0x43), ==, 0x00);
    /* Port 0x61: gate 2 low, OUT2 high; the refresh bit toggles on each read. */
    g_assert_cmphex(inb(0x61), ==, 0x30);
    g_assert_cmphex(inb(0x61), ==, 0x20);
}

/* The same sequence as tests/functional/intc/test_pit.py runs against QEMU. */
static void test_static_readback(void)
{
    reset();
    outb(0x43, 0x34);
    /* Datasheet: NULL COUNT until a count is written (QEMU never sets it); mode 2 OUT is
     * high (QEMU's model reads it low between its one-CLK pulses). */
    g_assert_cmphex(status(0), ==, 0xf4);
    outb(0x40, 100);
    outb(0x40, 0);
    g_assert_cmphex(status(0), ==, 0xb4);
    g_assert_cmphex(read16(0), ==, 100);
    outb(0x43, 0x00);
    g_assert_cmphex(read16(0), ==, 100);
    outb(0x43, 0xc2);                                /* read-back count and status */
    g_assert_cmphex(inb(0x40), ==, 0xb4);
    g_assert_cmphex(read16(0), ==, 100);
    outb(0x43, 0xb6);
    outb(0x42, 0x34);
    outb(0x42, 0x12);
    g_assert_cmphex(read16(2), ==, 0x1234);
    g_assert_cmphex(status(2), ==, 0xb6);
    outb(0x43, 0x71);                                /* counter 1, mode 0, BCD */
    outb(0x41, 0x99);
    outb(0x41, 0x09);
    g_assert_cmphex(read16(1), ==, 0x0999);
    g_assert_cmphex(status(1), ==, 0x31);
    outb(0x43, 0x52);                                /* counter 1, LSB only, mode 1 */
    outb(0x41, 0x10);
    g_assert_cmphex(status(1), ==, 0x92);
    g_assert_cmphex(inb(0x41), ==, 0x10);
    outb(0x43, 0x20);                                /* counter 0, MSB only, mode 0 */
    g_assert_cmphex(status(0), ==, 0x60);
    outb(0x40, 0x12);
    g_assert_cmphex(inb(0x40), ==, 0x12);
    g_assert_cmphex(status(0), ==, 0x20);
    outb(0x61, 0x03);
    g_assert_cmphex(inb(0x61) & ~0x10, ==, 0x23);
    outb(0x61, 0xff);
    g_assert_cmphex(inb(0x61) & ~0x10, ==, 0x23);    /* only bits 0 and 1 are stored */
}

static void test_mode2_rate(void)
{
    reset();
    outb(0x43, 0x34);
    outb(0x40, 100);
    outb(0x40, 0);
    int r0 = irq0.raises;
    clock_virtual_step(ns_for(99));
    g_assert_cmpint(irq0.level, ==, 0);              /* OUT low for the CLK at count 1 */
    g_assert_cmpint(irq0.lowers, ==, 1);
    g_assert_cmphex(read16(0), ==, 1);
    clock_virtual_step(ns_for(100) - ns_for(99) - 1);
    g_assert_cmpint(irq0.raises, ==, r0);
    clock_virtual_step(1);
    g_assert_cmpint(irq0.raises, ==, r0 + 1);        /* reload: rising edge */
    g_assert_cmphex(read16(0), ==, 100);
    /* One second: floor(1193182 / 100) periods since the load. */
    int64_t start = clock_get_ns(KEMU_CLOCK_VIRTUAL) - ns_for(100);
    clock_virtual_step(start + NANOSECONDS_PER_SECOND - clock_get_ns(KEMU_CLOCK_VIRTUAL));
    g_assert_cmpint(irq0.raises - r0, ==, PIT_FREQ / 100);
    /* A big step still gives an edge per period the timer saw (the clock stops at each
     * deadline), and the level ends right. */
    g_assert_cmpint(irq0.level, ==, (ticks_in(NANOSECONDS_PER_SECOND) % 100) != 99);
}

static void test_mode3_square(void)
{
    reset();
    outb(0x43, 0x36);
    outb(0x40, 1000 & 0xff);
    outb(0x40, 1000 >> 8);
    int64_t t0 = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    int r0 = irq0.raises, l0 = irq0.lowers;
    clock_virtual_step(ns_for(100));
    g_assert_cmpuint(read16(0), ==, 800);            /* counts by two */
    g_assert_cmpint(irq0.level, ==, 1);
    clock_virtual_step(t0 + ns_for(500) - clock_get_ns(KEMU_CLOCK_VIRTUAL));
    g_assert_cmpint(irq0.level, ==, 0);              /* second half: low */
    g_assert_cmpuint(read16(0), ==, 1000);
    clock_virtual_step(t0 + ns_for(750) - clock_get_ns(KEMU_CLOCK_VIRTUAL));
    g_assert_cmpuint(read16(0), ==, 500);
    clock_virtual_step(t0 + NANOSECONDS_PER_SECOND - clock_get_ns(KEMU_CLOCK_VIRTUAL));
    g_assert_cmpint(irq0.raises - r0, ==, PIT_FREQ / 1000);
    g_assert_cmpint(irq0.lowers - l0, ==, (PIT_FREQ - 500) / 1000 + 1);
    g_assert_cmphex(status(0), ==, (irq0.level << 7) | 0x36);
}

static void test_mode0_and_mode4(void)
{
    reset();
    outb(0x43, 0x30);
    g_assert_cmpint(irq0.level, ==, 0);              /* mode 0: OUT low after the control word */
    outb(0x40, 0xe8);
    outb(0x40, 0x03);                                /* 1000 */
    int r0 = irq0.raises;
    clock_virtual_step(ns_for(999));
    g_assert_cmpint(irq0.level, ==, 0);
    g_assert_cmpuint(read16(0), ==, 1);
    clock_virtual_step(ns_for(1000) - ns_for(999));
    g_assert_cmpint(irq0.level, ==, 1);
    g_assert_cmpint(irq0.raises, ==, r0 + 1);
    g_assert_cmpuint(read16(0), ==, 0);
    clock_virtual_step(ns_for(1000));
    g_assert_cmpint(irq0.raises, ==, r0 + 1);        /* one-shot */
    g_assert_cmpuint(read16(0), ==, 0x10000 - 1000);  /* keeps wrapping down */
    /* Writing the first byte of a new count stops the counter (OUT stays high). */

    /* Mode 4: OUT high, low for one CLK at terminal count. */
    outb(0x43, 0x38);
    g_assert_cmpint(irq0.level, ==, 1);
    outb(0x40, 10);
    outb(0x40, 0);
    int l0 = irq0.lowers;
    r0 = irq0.raises;
    clock_virtual_step(ns_for(10));
    g_assert_cmpint(irq0.lowers, ==, l0 + 1);
    clock_virtual_step(ns_for(11) - ns_for(10));
    g_assert_cmpint(irq0.raises, ==, r0 + 1);
    clock_virtual_step(ns_for(100));
    g_assert_cmpint(irq0.lowers, ==, l0 + 1);
}

static void test_latch_readback_bcd(void)
{
    reset();
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x10);                                /* 4096 */
    clock_virtual_step(ns_for(96));
    outb(0x43, 0x00);                                /* latch */
    clock_virtual_step(ns_for(1000));
    g_assert_cmpuint(read16(0), ==, 4000);
    g_assert_cmpuint(read16(0), <, 4000);            /* live again */
    /* A second latch before reading keeps the first. */
    outb(0x43, 0x00);
    uint16_t first = read16(0);
    outb(0x43, 0x00);
    clock_virtual_step(ns_for(10));
    outb(0x43, 0x00);
    g_assert_cmpuint(read16(0), ==, first);
    uint16_t live = read16(0);
    g_assert_cmpuint(live, >=, first - 11);
    g_assert_cmpuint(live, <=, first - 9);
    /* Read-back of all three counters, count and status: status comes first. */
    outb(0x43, 0xb4);                                /* counter 2, mode 2, binary */
    outb(0x42, 50);
    outb(0x42, 0);
    outb(0x43, 0xce);
    g_assert_cmphex(inb(0x42), ==, 0xb4);
    g_assert_cmpuint(read16(2), ==, 50);
    g_assert_cmphex(inb(0x40), ==, 0xb4);
    (void)read16(0);
    g_assert_cmphex(inb(0x41), ==, 0x86);            /* no count latched: RW mode 00 */
    /* BCD rate generator: 1000 decimal; one CLK later it reads 0999. */
    outb(0x43, 0x75);                                /* counter 1, mode 2, BCD */
    outb(0x41, 0x00);
    outb(0x41, 0x10);
    g_assert_cmphex(read16(1), ==, 0x1000);
    clock_virtual_step(ns_for(1));
    g_assert_cmphex(read16(1), ==, 0x0999);
    clock_virtual_step(ns_for(990));
    g_assert_cmphex(read16(1), ==, 0x0009);
    /* BCD 0 means 10000. */
    outb(0x43, 0x71);
    outb(0x41, 0x00);
    outb(0x41, 0x00);
    clock_virtual_step(ns_for(1));
    g_assert_cmphex(read16(1), ==, 0x9999);
}

/* Linux's PIT calibration (arch/x86/kernel/tsc.c pit_calibrate_tsc does the same
 * register sequence, from the public PC/AT programming model): gate 2 on, speaker off,
 * counter 2 in mode 0, poll OUT2 on port 0x61 bit 5. */
static void test_port61_gate2(void)
{
    reset();
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0);
    clock_virtual_step(ns_for(0xffff) - 1);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0);
    clock_virtual_step(1);
    g_assert_cmphex(inb(0x61) & 0x21, ==, 0x21);

    /* Mode 0: GATE low holds the count, GATE high resumes it. */
    outb(0x43, 0xb0);
    outb(0x42, 1000 & 0xff);
    outb(0x42, 1000 >> 8);
    clock_virtual_step(ns_for(300));
    outb(0x61, 0x00);
    g_assert_cmpuint(read16(2), ==, 700);
    clock_virtual_step(ns_for(500));
    g_assert_cmpuint(read16(2), ==, 700);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x01);
    clock_virtual_step(ns_for(699));
    g_assert_cmpuint(read16(2), ==, 1);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0);
    clock_virtual_step(ns_for(700) - ns_for(699));
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x20);
    /* A count written while GATE is low waits for it. */
    outb(0x61, 0x00);
    outb(0x43, 0xb0);
    outb(0x42, 10);
    outb(0x42, 0);
    clock_virtual_step(ns_for(100));
    g_assert_cmpuint(read16(2), ==, 10);
    outb(0x61, 0x01);

    /* Mode 3 with gate low: OUT2 high, counting held; rising gate reloads. */
    outb(0x61, 0x00);
    outb(0x43, 0xb6);
    outb(0x42, 100);
    outb(0x42, 0);
    clock_virtual_step(ns_for(70));
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x20);
    outb(0x61, 0x01);
    g_assert_cmpuint(read16(2), ==, 100);
    clock_virtual_step(ns_for(60));
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x00);     /* second half */

    /* Mode 1: waits for the gate trigger, then OUT low until terminal count. */
    outb(0x61, 0x00);
    outb(0x43, 0xb2);
    outb(0x42, 20);
    outb(0x42, 0);
    clock_virtual_step(ns_for(50));
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x20);
    outb(0x61, 0x01);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x00);
    clock_virtual_step(ns_for(20));
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x20);
    /* Retrigger. */
    outb(0x61, 0x00);
    outb(0x61, 0x01);
    g_assert_cmphex(inb(0x61) & 0x20, ==, 0x00);
    g_assert_cmpuint(read16(2), ==, 20);
}

/* Timers run late on a real main loop (more than the one CLK that OUT stays low in mode
 * 2): every period must still give IRQ 0 a rising edge.  The virtual clock follows the
 * host clock here, and timers are run every ~300 us as a busy main loop would. */
static void test_mode2_late_timers(void)
{
    reset();
    clock_virtual_set_manual(false);
    clock_virtual_start();
    outb(0x43, 0x34);
    outb(0x40, 11932 & 0xff);                        /* 100 Hz */
    outb(0x40, 11932 >> 8);
    int r0 = irq0.raises;
    int64_t start = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    for (int i = 0; i < 100000 && clock_get_ns(KEMU_CLOCK_VIRTUAL) - start < 200 * 1000000;
         i++) {
        g_usleep(300);
        timers_run_expired();
    }
    int64_t elapsed = clock_get_ns(KEMU_CLOCK_VIRTUAL) - start;
    clock_virtual_stop();
    clock_virtual_set_manual(true);
    int periods = (int)(ticks_in(elapsed) / 11932);
    g_test_message("%d rising edges for %d periods", irq0.raises - r0, periods);
    /* A loop late by a whole period loses it (lost ticks are dropped); allow one. */
    g_assert_cmpint(irq0.raises - r0, >=, periods - 2);
    g_assert_cmpint(irq0.raises - r0, <=, periods + 1);
}

static void test_vmstate(void)
{
    reset();
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x20);                                /* 8192 */
    clock_virtual_step(ns_for(192));
    const DeviceClass *dc = device_type_find(TYPE_ISA_PIT);
    GByteArray *buf = g_byte_array_new();
    vmstate_save(dc->vmsd, pit, buf);
    reset();
    size_t used;
    g_assert_true(vmstate_load(dc->vmsd, pit, buf->data, buf->len, &used, &error_abort));
    g_assert_cmpuint(read16(0), ==, 8000);
    int r0 = irq0.raises;
    clock_virtual_step(ns_for(8192) - ns_for(192));
    g_assert_cmpint(irq0.raises, ==, r0 + 1);
    g_byte_array_free(buf, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    intc_test_init();
    pit = pit_init(0x40, irq_new(line_rec_handler, &irq0, 0), &error_abort);
    DeviceState *spk = pcspk_init(pit, &error_abort);
    spk->id = g_strdup("pcspk");
    g_test_add_func("/i8254/reset-state", test_reset_state);
    g_test_add_func("/i8254/static-readback", test_static_readback);
    g_test_add_func("/i8254/mode2-rate", test_mode2_rate);
    g_test_add_func("/i8254/mode2-late-timers", test_mode2_late_timers);
    g_test_add_func("/i8254/mode3-square", test_mode3_square);
    g_test_add_func("/i8254/mode0-mode4", test_mode0_and_mode4);
    g_test_add_func("/i8254/latch-readback-bcd", test_latch_readback_bcd);
    g_test_add_func("/i8254/port61-gate2", test_port61_gate2);
    g_test_add_func("/i8254/vmstate", test_vmstate);
    return g_test_run();
}
