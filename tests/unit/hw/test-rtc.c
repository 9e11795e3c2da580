/*
 * MC146818A RTC (hw/timer/mc146818rtc.c) on fake clocks: every periodic rate of Table 5,
 * update-ended interrupts across a minute in 12-hour BCD mode, -rtc parsing, and a vmstate
 * round trip.  The device is created through its registered DeviceClass; its I/O region
 * callbacks are captured from memory_region_init_io.
 */
#include <glib.h>
#include <string.h>

#include "hw/isa.h"
#include "hw/qdev.h"
#include "hw/timer/mc146818rtc.h"
#include "system/qtest.h"
#include "system/timer.h"

/* ---- fakes ------------------------------------------------------------------------ */

struct Timer {
    ClockType type;
    TimerCB cb;
    void *opaque;
    int64_t expire;
};

static int64_t fake_clock[KEMU_CLOCK_MAX];
static Timer *timers[16];
static int nr_timers;
static DeviceClass *rtc_class;
static const MemoryRegionOps *rtc_ops;
static void *rtc_opaque;
static int irq8_level, irq8_raises;

int64_t clock_get_ns(ClockType type)
{
    return fake_clock[type];
}

Timer *timer_new_ns(ClockType type, TimerCB cb, void *opaque)
{
    Timer *t = g_new0(Timer, 1);
    *t = (Timer){ .type = type, .cb = cb, .opaque = opaque, .expire = -1 };
    timers[nr_timers++] = t;
    return t;
}

void timer_mod(Timer *t, int64_t expire_ns)
{
    t->expire = expire_ns;
}

void timer_del(Timer *t)
{
    t->expire = -1;
}

void timer_free(Timer *t)
{
    for (int i = 0; i < nr_timers; i++) {
        if (timers[i] == t) {
            timers[i] = timers[--nr_timers];
        }
    }
    g_free(t);
}

/* Advance the virtual clock (the RTC's clock under qtest), firing timers in order. */
static void step(int64_t ns)
{
    int64_t target = fake_clock[KEMU_CLOCK_VIRTUAL] + ns;
    for (;;) {
        Timer *next = NULL;
        for (int i = 0; i < nr_timers; i++) {
            Timer *t = timers[i];
            if (t->type == KEMU_CLOCK_VIRTUAL && t->expire >= 0 && t->expire <= target &&
                (!next || t->expire < next->expire)) {
                next = t;
            }
        }
        if (!next) {
            break;
        }
        if (next->expire > fake_clock[KEMU_CLOCK_VIRTUAL]) {
            fake_clock[KEMU_CLOCK_VIRTUAL] = next->expire;
        }
        next->expire = -1;
        next->cb(next->opaque);
    }
    fake_clock[KEMU_CLOCK_VIRTUAL] = target;
}

bool qtest_enabled(void)
{
    return true;
}

static void irq8_handler(void *opaque, int n, int level)
{
    if (level && !irq8_level) {
        irq8_raises++;
    }
    irq8_level = level;
}

static Irq irq8 = { .handler = irq8_handler, .n = 8 };

Irq *isa_get_irq(int isairq)
{
    return isairq == 8 ? &irq8 : NULL;
}

void isa_register_ioport(MemoryRegion *mr, uint16_t port)
{
    g_assert_cmpint(port, ==, 0x70);
}

void isa_unregister_ioport(MemoryRegion *mr)
{
}

void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops, void *opaque,
                           const char *name, uint64_t size)
{
    rtc_ops = ops;
    rtc_opaque = opaque;
}

void device_type_register(DeviceClass *dc)
{
    if (!strcmp(dc->name, "mc146818rtc")) {
        rtc_class = dc;
    }
}

/* ---- helpers ------------------------------------------------------------------------- */

static DeviceState *rtc_create(int32_t base_year)
{
    DeviceState *dev = g_malloc0(rtc_class->instance_size);
    dev->type = rtc_class;
    for (const Property *p = rtc_class->props; p->name; p++) {
        void *field = (char *)dev + p->offset;
        if (!strcmp(p->name, "base_year")) {
            *(int32_t *)field = base_year;
        } else if (!strcmp(p->name, "iobase")) {
            *(uint16_t *)field = (uint16_t)p->defval;
        } else if (!strcmp(p->name, "irq")) {
            *(uint8_t *)field = (uint8_t)p->defval;
        }
    }
    Error *err = NULL;
    rtc_class->realize(dev, &err);
    g_assert_null(err);
    irq8_level = 0;
    irq8_raises = 0;
    return dev;
}

static void rtc_destroy(DeviceState *dev)
{
    rtc_class->unrealize(dev);
    g_free(dev);
}

static uint8_t cmos_read(int idx)
{
    rtc_ops->write(rtc_opaque, 0, idx, 1);
    return (uint8_t)rtc_ops->read(rtc_opaque, 1, 1);
}

static void cmos_write(int idx, uint8_t val)
{
    rtc_ops->write(rtc_opaque, 0, idx, 1);
    rtc_ops->write(rtc_opaque, 1, val, 1);
}

static void set_time_bcd(uint8_t h, uint8_t m, uint8_t s, uint8_t b_format)
{
    cmos_write(0x0b, 0x80 | b_format);
    cmos_write(0x04, h);
    cmos_write(0x02, m);
    cmos_write(0x00, s);
    cmos_write(0x07, 0x15);
    cmos_write(0x08, 0x06);
    cmos_write(0x09, 0x21);
    cmos_write(0x32, 0x20);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_periodic_rates(void)
{
    /* Table 5 at 32.768 kHz: RS 1, 2 -> 3.90625 ms, 7.8125 ms; RS n >= 3 -> 2^(n-1) / 32768 s */
    for (int rs = 1; rs <= 15; rs++) {
        DeviceState *dev = rtc_create(2000);
        int64_t cycles = rs <= 2 ? (1 << (rs + 6)) : (1 << (rs - 1));
        int64_t period = cycles * 1000000000LL / 32768;
        int64_t window = period * 8 > 4000000000LL ? period * 8 : 4000000000LL;
        cmos_write(0x0a, 0x20 | rs);
        cmos_read(0x0c);
        cmos_write(0x0b, 0x42);                   /* PIE */
        int ticks = 0;
        for (int64_t t = 0; t < window; t += period / 2) {
            step(period / 2);
            if (cmos_read(0x0c) & 0x40) {
                ticks++;
            }
        }
        int64_t want = window / period;
        g_assert_cmpint(ticks, >=, want - 1);
        g_assert_cmpint(ticks, <=, want + 1);
        g_assert_cmpint(irq8_raises, ==, ticks);
        rtc_destroy(dev);
    }
}

static void test_update_interrupts_12h(void)
{
    DeviceState *dev = rtc_create(2000);
    set_time_bcd(0x91, 0x59, 0x58, 0x00);         /* 11:59:58 PM, 12-hour BCD */
    cmos_write(0x0b, 0x10);                       /* run, UIE */
    cmos_read(0x0c);
    for (int i = 0; i < 3; i++) {
        step(1000000000LL);
        g_assert_cmphex(cmos_read(0x0c) & 0x90, ==, 0x90);
    }
    /* 11:59:58 PM + 3 s (plus the phase kept from power-on) = 12:00:01 AM next day. */
    g_assert_cmphex(cmos_read(0x04), ==, 0x12);   /* 12 AM: bit 7 clear */
    g_assert_cmphex(cmos_read(0x02), ==, 0x00);
    g_assert_cmphex(cmos_read(0x07), ==, 0x16);
    rtc_destroy(dev);
}

static void test_rtc_configure(void)
{
    Error *err = NULL;

    g_assert_false(rtc_configure("base=foo", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid datetime format");
    error_free(err);
    err = NULL;
    g_assert_false(rtc_configure("clock=bar", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid option value 'bar'");
    error_free(err);
    err = NULL;
    g_assert_false(rtc_configure("foo=1", &err));
    error_free(err);
    err = NULL;
    g_assert_true(rtc_configure("base=2006-06-17T16:01:21,clock=vm,driftfix=slew", &err));
    DeviceState *dev = rtc_create(2000);
    g_assert_cmphex(cmos_read(0x09), ==, 0x06);
    g_assert_cmphex(cmos_read(0x08), ==, 0x06);
    g_assert_cmphex(cmos_read(0x07), ==, 0x17);
    g_assert_cmphex(cmos_read(0x04), ==, 0x16);
    g_assert_cmphex(cmos_read(0x02), ==, 0x01);
    g_assert_cmphex(cmos_read(0x00), ==, 0x21);
    g_assert_cmphex(cmos_read(0x06), ==, 0x07); /* Saturday */
    step(2000000000LL);
    g_assert_cmphex(cmos_read(0x00), ==, 0x23);
    rtc_destroy(dev);
    g_assert_true(rtc_configure("base=utc", NULL));
}

static void test_vmstate_round_trip(void)
{
    DeviceState *a = rtc_create(2000);
    set_time_bcd(0x10, 0x20, 0x30, 0x02);
    cmos_write(0x0b, 0x22);                       /* run, AIE */
    cmos_write(0x40, 0x5a);
    cmos_write(0x0a, 0x2f);
    GByteArray *buf = g_byte_array_new();
    vmstate_save(rtc_class->vmsd, a, buf);
    rtc_destroy(a);

    DeviceState *b = rtc_create(2000);
    size_t used = 0;
    g_assert_true(vmstate_load(rtc_class->vmsd, b, buf->data, buf->len, &used, NULL));
    g_assert_cmpuint(used, ==, buf->len);
    g_byte_array_free(buf, TRUE);
    if (rtc_class->vmsd->post_load) {
        g_assert_cmpint(rtc_class->vmsd->post_load(b, rtc_class->vmsd->version_id), ==, 0);
    }
    g_assert_cmphex(cmos_read(0x40), ==, 0x5a);
    g_assert_cmphex(cmos_read(0x0a) & 0x7f, ==, 0x2f);
    g_assert_cmphex(cmos_read(0x0b), ==, 0x22);
    g_assert_cmphex(cmos_read(0x04), ==, 0x10);
    g_assert_cmphex(cmos_read(0x02), ==, 0x20);
    rtc_destroy(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_nonnull(rtc_class);
    fake_clock[KEMU_CLOCK_HOST] = 1700000000LL * 1000000000LL;
    fake_clock[KEMU_CLOCK_VIRTUAL] = 5000;
    g_test_add_func("/rtc/periodic-rates", test_periodic_rates);
    g_test_add_func("/rtc/update-12h", test_update_interrupts_12h);
    g_test_add_func("/rtc/configure", test_rtc_configure);
    g_test_add_func("/rtc/vmstate", test_vmstate_round_trip);
    return g_test_run();
}
