/*
 * 8259A pair (hw/intc/i8259.c): the initialisation sequences of Linux and SeaBIOS,
 * fully nested priorities, cascade, EOI variants, auto-EOI, rotation, special mask mode,
 * poll mode, ELCR level triggering and the spurious IRQ7, register read-back, vmstate.
 */
#include <glib.h>

#include "hw/intc/i8259.h"
#include "intc-test.h"

static PICState *pic;
static LineRec intr;
static Irq *intr_line;

static void pic_irq(int n, int level)
{
    irq_set(i8259_get_irq(pic, n), level);
}

/* Linux's init_8259A(): master vectors 0x30, slave 0x38, 8086 mode, normal EOI. */
static void linux_init(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    outb(0x20, 0x11);
    outb(0x21, 0x30);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0xa0, 0x11);
    outb(0xa1, 0x38);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    outb(0x21, 0x00);
    outb(0xa1, 0x00);
}

static void full_reset(void)
{
    for (int i = 0; i < 16; i++) {
        pic_irq(i, 0);
    }
    outb(0x4d0, 0);
    outb(0x4d1, 0);
    linux_init();
    intr = (LineRec){ 0 };
    i8259_set_intr(pic, intr_line);
}

static uint8_t read_isr(uint16_t base)
{
    outb(base, 0x0b);
    return inb(base);
}

static uint8_t read_irr(uint16_t base)
{
    outb(base, 0x0a);
    return inb(base);
}

static void test_init_sequences(void)
{
    full_reset();
    g_assert_cmphex(inb(0x21), ==, 0x00);
    outb(0x21, 0xfb);
    outb(0xa1, 0xff);
    g_assert_cmphex(inb(0x21), ==, 0xfb);
    g_assert_cmphex(inb(0xa1), ==, 0xff);
    pic_irq(1, 1);
    pic_irq(1, 0);
    g_assert_cmpint(intr.level, ==, 0);       /* masked */
    g_assert_cmphex(read_irr(0x20), ==, 0x02);

    /* SeaBIOS: vectors 0x08 / 0x70, then everything masked but the cascade. */
    outb(0x20, 0x11);
    outb(0x21, 0x08);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0xa0, 0x11);
    outb(0xa1, 0x70);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    /* ICW1 cleared the IMR and the pending edge. */
    g_assert_cmphex(inb(0x21), ==, 0x00);
    g_assert_cmphex(read_irr(0x20), ==, 0x00);
    g_assert_cmpint(intr.level, ==, 0);
    pic_irq(0, 1);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x08);
    g_assert_cmphex(read_isr(0x20), ==, 0x01);
    outb(0x20, 0x20);
    pic_irq(0, 0);
    pic_irq(14, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x76);
    g_assert_cmphex(read_isr(0x20), ==, 0x04);
    g_assert_cmphex(read_isr(0xa0), ==, 0x40);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmphex(read_isr(0x20), ==, 0);
    g_assert_cmphex(read_isr(0xa0), ==, 0);
    pic_irq(14, 0);
}

static void test_priority_and_nesting(void)
{
    full_reset();
    pic_irq(3, 1);
    pic_irq(1, 1);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x31);
    /* IR3 is of lower priority than IR1 in service: INT stays low. */
    g_assert_cmpint(intr.level, ==, 0);
    g_assert_cmphex(read_irr(0x20), ==, 0x08);
    /* IR0 is higher: it nests. */
    pic_irq(0, 1);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x30);
    g_assert_cmphex(read_isr(0x20), ==, 0x03);
    outb(0x20, 0x20);                          /* non-specific EOI: the highest, IR0 */
    g_assert_cmphex(read_isr(0x20), ==, 0x02);
    g_assert_cmpint(intr.level, ==, 0);
    outb(0x20, 0x20);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x33);
    outb(0x20, 0x63);                          /* specific EOI of IR3 */
    g_assert_cmphex(read_isr(0x20), ==, 0);
    pic_irq(0, 0);
    pic_irq(1, 0);
    pic_irq(3, 0);
}

static void test_cascade_and_mask(void)
{
    full_reset();
    outb(0xa1, 0x04);                          /* mask IRQ10 */
    pic_irq(10, 1);
    g_assert_cmpint(intr.level, ==, 0);
    g_assert_cmphex(read_irr(0xa0), ==, 0x04);
    outb(0xa1, 0x00);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x3a);
    g_assert_cmphex(read_isr(0xa0), ==, 0x04);
    g_assert_cmphex(read_isr(0x20), ==, 0x04);
    /* A higher slave request is held behind master IR2 in service (fully nested mode). */
    pic_irq(8, 1);
    g_assert_cmpint(intr.level, ==, 0);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x38);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    /* IRQ2 as an input is the cascade: ignored. */
    pic_irq(2, 1);
    g_assert_cmphex(read_irr(0x20), ==, 0x00);
    pic_irq(8, 0);
    pic_irq(10, 0);
}

static void test_special_fully_nested(void)
{
    full_reset();
    outb(0x20, 0x11);
    outb(0x21, 0x30);
    outb(0x21, 0x04);
    outb(0x21, 0x11);                          /* SFNM */
    pic_irq(10, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x3a);
    pic_irq(8, 1);
    /* SFNM: a higher request from the slave passes master IR2 in service. */
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x38);
    pic_irq(8, 0);
    pic_irq(10, 0);
}

static void test_auto_eoi_and_rotation(void)
{
    full_reset();
    outb(0x20, 0x11);
    outb(0x21, 0x30);
    outb(0x21, 0x04);
    outb(0x21, 0x03);                          /* AEOI */
    pic_irq(5, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x35);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
    pic_irq(5, 0);

    /* Rotate in AEOI mode: the serviced level becomes the lowest. */
    outb(0x20, 0x80);
    pic_irq(5, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x35);
    pic_irq(5, 0);
    pic_irq(4, 1);
    pic_irq(6, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x36);   /* IR6 now the highest */
    g_assert_cmphex(pic_read_irq(pic), ==, 0x34);
    pic_irq(4, 0);
    pic_irq(6, 0);
    outb(0x20, 0x00);                          /* clear rotate in AEOI */

    /* Set priority (OCW2 110): IR3 lowest, so IR4 highest. */
    full_reset();
    outb(0x20, 0xc3);
    pic_irq(1, 1);
    pic_irq(4, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x34);
    /* Rotate on non-specific EOI: IR4 becomes the lowest, IR5 highest; IR1 still wins
     * over nothing else pending. */
    outb(0x20, 0xa0);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
    pic_irq(7, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x37);   /* IR7 before IR1 after rotation */
    outb(0x20, 0xe7);                          /* rotate on specific EOI of IR7 */
    g_assert_cmphex(pic_read_irq(pic), ==, 0x31);
    outb(0x20, 0x20);
    pic_irq(1, 0);
    pic_irq(4, 0);
    pic_irq(7, 0);
}

static void test_special_mask_mode(void)
{
    full_reset();
    pic_irq(3, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x33);
    pic_irq(5, 1);
    g_assert_cmpint(intr.level, ==, 0);        /* IR5 below IR3 in service */
    outb(0x21, 0x08);                          /* mask IR3 ... */
    outb(0x20, 0x68);                          /* ... and enter special mask mode */
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x35);
    g_assert_cmphex(read_isr(0x20), ==, 0x28);
    outb(0x20, 0x65);
    outb(0x20, 0x63);
    outb(0x20, 0x48);                          /* leave SMM */
    outb(0x21, 0x00);
    pic_irq(3, 0);
    pic_irq(5, 0);
}

static void test_poll(void)
{
    full_reset();
    outb(0x20, 0x0c);
    g_assert_cmphex(inb(0x20), ==, 0x00);      /* nothing pending: W7 = 0 */
    pic_irq(6, 1);
    outb(0x20, 0x0c);
    g_assert_cmphex(inb(0x20), ==, 0x86);
    g_assert_cmphex(read_isr(0x20), ==, 0x40);
    /* The poll was the acknowledge: the next read is a status read again. */
    g_assert_cmphex(inb(0x20), ==, 0x40);
    outb(0x20, 0x20);
    pic_irq(6, 0);
}

static void test_elcr_level_and_spurious(void)
{
    full_reset();
    outb(0x4d0, 0xff);
    outb(0x4d1, 0xff);
    g_assert_cmphex(inb(0x4d0), ==, 0xf8);     /* IRQ0-2 always edge */
    g_assert_cmphex(inb(0x4d1), ==, 0xde);     /* IRQ8 and IRQ13 always edge */
    outb(0x4d0, 0x00);
    outb(0x4d1, 0x08);                         /* IRQ11 level */
    pic_irq(11, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x3b);
    /* Level request still asserted: it comes back after the EOI. */
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(read_irr(0xa0), ==, 0x08);
    pic_irq(11, 0);
    g_assert_cmphex(read_irr(0xa0), ==, 0x00);
    /* The master latched the slave's INT on its edge-triggered IR2: the INTA finds
     * nothing on the slave, which answers IR7: spurious IRQ15, with master IR2 in service
     * (the OS sends the master alone an EOI). */
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x3f);
    g_assert_cmphex(read_isr(0xa0), ==, 0x00);
    g_assert_cmphex(read_isr(0x20), ==, 0x04);
    outb(0x20, 0x20);
    g_assert_cmpint(intr.level, ==, 0);

    /* A level request withdrawn before INTA: spurious IRQ7, nothing in service. */
    outb(0x4d0, 0x20);                         /* IRQ5 level */
    pic_irq(5, 1);
    g_assert_cmpint(intr.level, ==, 1);
    pic_irq(5, 0);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x37);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);

    /* Edge requests stay latched after the line drops (pulsed lines). */
    irq_pulse(i8259_get_irq(pic, 4));
    g_assert_cmphex(pic_read_irq(pic), ==, 0x34);
    outb(0x20, 0x20);
    outb(0x4d0, 0);
    outb(0x4d1, 0);
}

/* `info pic` lines; the expected text is QEMU 7.2's for the same programming. */
static void test_dump(void)
{
    full_reset();
    outb(0x20, 0x11);
    outb(0x21, 0x08);
    outb(0x21, 0x04);
    outb(0x21, 0x13);                          /* SFNM, AEOI */
    outb(0x21, 0xb8);
    outb(0x20, 0x0b);
    outb(0x20, 0xc4);                          /* IR4 lowest: IR5 highest */
    outb(0x4d0, 0x20);
    outb(0xa0, 0x11);
    outb(0xa1, 0x00);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    GString *out = g_string_new(NULL);
    i8259_dump(pic, out);
    g_assert_cmpstr(out->str, ==,
                    "pic1: irr=00 imr=00 isr=00 hprio=0 irq_base=00 rr_sel=0 elcr=00 fnm=0\n"
                    "pic0: irr=00 imr=b8 isr=00 hprio=5 irq_base=08 rr_sel=1 elcr=20 fnm=1\n");
    g_string_free(out, true);
    outb(0x4d0, 0);
}

static void test_vmstate(void)
{
    full_reset();
    outb(0x21, 0x50);
    pic_irq(3, 1);
    g_assert_cmphex(pic_read_irq(pic), ==, 0x33);
    const DeviceClass *dc = device_type_find(TYPE_I8259);
    GByteArray *buf = g_byte_array_new();
    vmstate_save(dc->vmsd, pic, buf);
    outb(0x20, 0x20);
    outb(0x21, 0x00);
    size_t used;
    Error *err = NULL;
    g_assert_true(vmstate_load(dc->vmsd, pic, buf->data, buf->len, &used, &err));
    g_assert_cmpuint(used, ==, buf->len);
    g_assert_cmphex(inb(0x21), ==, 0x50);
    g_assert_cmphex(read_isr(0x20), ==, 0x08);
    g_byte_array_free(buf, true);
    outb(0x20, 0x20);
    pic_irq(3, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    intc_test_init();
    intr_line = irq_new(line_rec_handler, &intr, 0);
    pic = i8259_init(intr_line, &error_abort);
    g_test_add_func("/i8259/init-sequences", test_init_sequences);
    g_test_add_func("/i8259/priority-nesting", test_priority_and_nesting);
    g_test_add_func("/i8259/cascade-mask", test_cascade_and_mask);
    g_test_add_func("/i8259/special-fully-nested", test_special_fully_nested);
    g_test_add_func("/i8259/auto-eoi-rotation", test_auto_eoi_and_rotation);
    g_test_add_func("/i8259/special-mask-mode", test_special_mask_mode);
    g_test_add_func("/i8259/poll", test_poll);
    g_test_add_func("/i8259/elcr-level-spurious", test_elcr_level_and_spurious);
    g_test_add_func("/i8259/dump", test_dump);
    g_test_add_func("/i8259/vmstate", test_vmstate);
    return g_test_run();
}
