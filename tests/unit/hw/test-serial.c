/*
 * 16550A core (hw/char/serial.c) against a fake clock, timers and chardev: character
 * timeout timing at several baud rates and frame formats, chardev flow control, break,
 * and a vmstate round trip of a UART with buffered input.
 */
#include <glib.h>
#include <string.h>

#include "hw/char/serial.h"

/* ---- fakes for the core APIs serial.c uses --------------------------------------- */

struct Timer {
    TimerCB cb;
    void *opaque;
    int64_t expire;             /* -1: not pending */
};

static int64_t fake_now;
static Timer *fake_timers[8];
static int nr_fake_timers;
static GByteArray *chr_out;
static int accept_input_calls;
static int irq_level;

int64_t clock_get_ns(ClockType type)
{
    return fake_now;
}

Timer *timer_new_ns(ClockType type, TimerCB cb, void *opaque)
{
    Timer *t = g_new0(Timer, 1);
    t->cb = cb;
    t->opaque = opaque;
    t->expire = -1;
    g_assert_cmpint(nr_fake_timers, <, 8);
    fake_timers[nr_fake_timers++] = t;
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
    for (int i = 0; i < nr_fake_timers; i++) {
        if (fake_timers[i] == t) {
            fake_timers[i] = fake_timers[--nr_fake_timers];
        }
    }
    g_free(t);
}

/* Advance the fake clock, firing timers in order. */
static void fake_clock_step(int64_t ns)
{
    int64_t target = fake_now + ns;
    for (;;) {
        Timer *next = NULL;
        for (int i = 0; i < nr_fake_timers; i++) {
            Timer *t = fake_timers[i];
            if (t->expire >= 0 && t->expire <= target && (!next || t->expire < next->expire)) {
                next = t;
            }
        }
        if (!next) {
            break;
        }
        fake_now = next->expire > fake_now ? next->expire : fake_now;
        next->expire = -1;
        next->cb(next->opaque);
    }
    fake_now = target;
}

bool chardev_attach(Chardev *chr, CharFrontend *fe, Error **errp)
{
    chr->fe = fe;
    return true;
}

int chardev_write_all(Chardev *chr, const uint8_t *buf, int len)
{
    g_byte_array_append(chr_out, buf, len);
    return len;
}

void chardev_accept_input(Chardev *chr)
{
    accept_input_calls++;
}

static void irq_handler(void *opaque, int n, int level)
{
    irq_level = level;
}

/* ---- helpers ------------------------------------------------------------------------- */

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

typedef struct Fixture {
    SerialState s;
    Chardev chr;
    Irq irq;
} Fixture;

static void fixture_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    fake_now = 1000;
    chr_out = g_byte_array_new();
    accept_input_calls = 0;
    irq_level = 0;
    f->irq = (Irq){ .handler = irq_handler, .n = 4 };
    f->s.irq = &f->irq;
    f->s.chr = &f->chr;
    f->s.baudbase = 115200;
    g_assert_true(serial_realize_core(&f->s, NULL));
}

static void fixture_fini(Fixture *f)
{
    timer_free(f->s.fifo_timeout_timer);
    g_byte_array_free(chr_out, TRUE);
}

static uint8_t rd(Fixture *f, int reg)
{
    return (uint8_t)serial_ioport_read(&f->s, reg, 1);
}

static void wr(Fixture *f, int reg, uint8_t v)
{
    serial_ioport_write(&f->s, reg, v, 1);
}

static void line_input(Fixture *f, const char *bytes)
{
    CharFrontend *fe = f->chr.fe;
    int n = (int)strlen(bytes);
    g_assert_cmpint(fe->can_read(fe->opaque), >=, n);
    fe->read(fe->opaque, (const uint8_t *)bytes, n);
}

static void set_divisor(Fixture *f, uint16_t div, uint8_t lcr)
{
    wr(f, LCR, 0x80);
    wr(f, DLL, div & 0xff);
    wr(f, DLM, div >> 8);
    wr(f, LCR, lcr);
}

/* ---- tests --------------------------------------------------------------------------- */

/* Timeout = 4 character times; a character is start + data + parity + stop bits. */
static void check_timeout(uint16_t div, uint8_t lcr, unsigned bits)
{
    Fixture f;
    fixture_init(&f);
    set_divisor(&f, div, lcr);
    wr(&f, FCR, 0xc1);                            /* FIFO, trigger 14 */
    wr(&f, IER, 0x01);
    line_input(&f, "x");
    int64_t char_ns = 1000000000LL * div * bits / 115200;
    fake_clock_step(4 * char_ns - 1000);
    g_assert_cmphex(rd(&f, IIR), ==, 0xc1);
    g_assert_cmpint(irq_level, ==, 0);
    fake_clock_step(2000);
    g_assert_cmphex(rd(&f, IIR), ==, 0xcc);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmphex(rd(&f, RBR), ==, 'x');
    g_assert_cmphex(rd(&f, IIR), ==, 0xc1);
    g_assert_cmpint(irq_level, ==, 0);
    fixture_fini(&f);
}

static void test_char_timeout(void)
{
    check_timeout(1, 0x03, 10);                   /* 115200 8N1 */
    check_timeout(12, 0x03, 10);                  /* 9600 8N1 */
    check_timeout(12, 0x1f, 12);                  /* 9600 8E2: 1 + 8 + 1 + 2 */
    check_timeout(96, 0x00, 7);                   /* 1200 5N1 */
}

static void test_timeout_restarts_on_input(void)
{
    Fixture f;
    fixture_init(&f);
    set_divisor(&f, 1, 0x03);
    wr(&f, FCR, 0xc1);
    wr(&f, IER, 0x01);
    line_input(&f, "a");
    fake_clock_step(300000);                      /* < 347 us */
    line_input(&f, "b");                          /* restarts the window */
    fake_clock_step(300000);
    g_assert_cmphex(rd(&f, IIR), ==, 0xc1);
    fake_clock_step(100000);
    g_assert_cmphex(rd(&f, IIR), ==, 0xcc);
    fixture_fini(&f);
}

static void test_flow_control(void)
{
    Fixture f;
    fixture_init(&f);
    CharFrontend *fe = f.chr.fe;
    g_assert_cmpint(fe->can_read(fe->opaque), ==, 1);   /* 16450 mode: one byte */
    line_input(&f, "a");
    g_assert_cmpint(fe->can_read(fe->opaque), ==, 0);
    int before = accept_input_calls;
    g_assert_cmphex(rd(&f, RBR), ==, 'a');
    g_assert_cmpint(accept_input_calls, >, before);      /* room again: ask for more */
    wr(&f, FCR, 0x01);
    g_assert_cmpint(fe->can_read(fe->opaque), ==, 16);
    line_input(&f, "0123456789");
    g_assert_cmpint(fe->can_read(fe->opaque), ==, 6);
    wr(&f, MCR, 0x10);                            /* loopback: the line is disconnected */
    g_assert_cmpint(fe->can_read(fe->opaque), ==, 0);
    fixture_fini(&f);
}

static void test_break(void)
{
    Fixture f;
    fixture_init(&f);
    wr(&f, IER, 0x04);                            /* line status interrupt */
    f.chr.fe->event(f.chr.fe->opaque, CHR_EVENT_BREAK);
    g_assert_cmphex(rd(&f, IIR), ==, 0x06);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmphex(rd(&f, LSR) & 0x11, ==, 0x11);   /* BI | DR */
    g_assert_cmphex(rd(&f, IIR), ==, 0x01);
    g_assert_cmphex(rd(&f, RBR), ==, 0x00);
    fixture_fini(&f);
}

static void test_output_and_word_length(void)
{
    Fixture f;
    fixture_init(&f);
    wr(&f, THR, 'h');                             /* LCR reset value: 5-bit words */
    wr(&f, LCR, 0x03);
    wr(&f, THR, 'i');
    g_assert_cmpmem(chr_out->data, chr_out->len, "hi", 2);
    g_assert_cmphex(rd(&f, LSR) & 0x60, ==, 0x60);
    fixture_fini(&f);
}

static void test_vmstate_round_trip(void)
{
    Fixture f, g;
    fixture_init(&f);
    set_divisor(&f, 3, 0x1b);
    wr(&f, FCR, 0x81);                            /* FIFO, trigger 8 */
    wr(&f, IER, 0x05);
    wr(&f, SCR, 0xa5);
    line_input(&f, "hello");
    GByteArray *buf = g_byte_array_new();
    vmstate_save(&vmstate_serial, &f.s, buf);
    fixture_fini(&f);

    fixture_init(&g);
    size_t used = 0;
    g_assert_true(vmstate_load(&vmstate_serial, &g.s, buf->data, buf->len, &used, NULL));
    g_assert_cmpuint(used, ==, buf->len);
    g_byte_array_free(buf, TRUE);
    g_assert_cmphex(rd(&g, LCR), ==, 0x1b);
    g_assert_cmphex(rd(&g, SCR), ==, 0xa5);
    g_assert_cmphex(rd(&g, IER), ==, 0x05);
    g_assert_cmphex(rd(&g, IIR), ==, 0xc1);       /* 5 < 8 bytes: no RDA yet */
    fake_clock_step(10 * 1000 * 1000);            /* the timeout timer was re-armed */
    g_assert_cmphex(rd(&g, IIR), ==, 0xcc);
    char got[6] = { 0 };
    for (int i = 0; i < 5; i++) {
        got[i] = (char)rd(&g, RBR);
    }
    g_assert_cmpstr(got, ==, "hello");
    wr(&g, LCR, 0x80);
    g_assert_cmphex(rd(&g, DLL), ==, 3);
    fixture_fini(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial/timeout", test_char_timeout);
    g_test_add_func("/serial/timeout-restart", test_timeout_restarts_on_input);
    g_test_add_func("/serial/flow-control", test_flow_control);
    g_test_add_func("/serial/break", test_break);
    g_test_add_func("/serial/output", test_output_and_word_length);
    g_test_add_func("/serial/vmstate", test_vmstate_round_trip);
    return g_test_run();
}
