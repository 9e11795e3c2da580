/*
 * 82093AA I/O APIC (hw/intc/ioapic.c): ID/VER/ARB registers (values as QEMU 7.2's pc
 * machine reports), reset state, redirection entries and the MSI-format messages they
 * produce, edge versus level with Remote IRR and EOI (broadcast and the 0x40 register),
 * masked requests, bounds of the register index, vmstate.
 */
#include <glib.h>

#include "hw/intc/ioapic.h"
#include "hw/qdev.h"
#include "intc-test.h"

#define IOREGSEL 0xfec00000
#define IOWIN    0xfec00010
#define IOEOI    0xfec00040

typedef struct Msg {
    uint64_t addr;
    uint32_t data;
} Msg;

static IOAPICState *ioapic;
static Msg msgs[64];
static int nmsgs;

static void deliver(void *opaque, uint64_t addr, uint32_t data)
{
    g_assert(opaque == &msgs);
    g_assert_cmpint(nmsgs, <, 64);
    msgs[nmsgs++] = (Msg){ addr, data };
}

static uint32_t reg_read(uint8_t idx)
{
    writel(IOREGSEL, idx);
    return readl(IOWIN);
}

static void reg_write(uint8_t idx, uint32_t v)
{
    writel(IOREGSEL, idx);
    writel(IOWIN, v);
}

static void set_entry(int pin, uint64_t e)
{
    reg_write(0x11 + 2 * pin, e >> 32);
    reg_write(0x10 + 2 * pin, (uint32_t)e);
}

static void pin(int n, int level)
{
    irq_set(ioapic_get_irq(ioapic, n), level);
}

static void reset(void)
{
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        pin(i, 0);
    }
    device_type_find(TYPE_IOAPIC)->reset((DeviceState *)ioapic);
    nmsgs = 0;
}

static void test_registers(void)
{
    reset();
    g_assert_cmphex(reg_read(0x00), ==, 0x00000000);
    g_assert_cmphex(reg_read(0x01), ==, 0x00170020);
    g_assert_cmphex(reg_read(0x02), ==, 0x00000000);
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        g_assert_cmphex(reg_read(0x10 + 2 * i), ==, 0x00010000);
        g_assert_cmphex(reg_read(0x11 + 2 * i), ==, 0x00000000);
    }
    reg_write(0x00, 0xffffffff);
    g_assert_cmphex(reg_read(0x00), ==, 0x0f000000);
    reg_write(0x01, 0);                              /* read-only */
    g_assert_cmphex(reg_read(0x01), ==, 0x00170020);
    /* Indices past the table read 0 and ignore writes. */
    for (int idx = 0x40; idx <= 0xff; idx += 0x1f) {
        reg_write(idx, 0xdeadbeef);
        g_assert_cmphex(reg_read(idx), ==, 0);
    }
    g_assert_cmphex(readl(IOREGSEL), ==, 0xfa);      /* the last index written */
    /* The read-only DELIVS/Remote IRR stay 0; reserved bits keep their value (QEMU). */
    set_entry(7, 0xfffffffffffffffful);
    g_assert_cmphex(reg_read(0x10 + 14), ==, 0xffffafff);
    g_assert_cmphex(reg_read(0x11 + 14), ==, 0xffffffff);
    g_assert_cmpint(nmsgs, ==, 0);
    /* IOWIN answers 32-bit accesses only. */
    writel(IOREGSEL, 0x01);
    uint64_t b = 0xaa;
    address_space_ldst(&address_space_memory, IOWIN, &b, 1, false);
    g_assert_cmphex(b, ==, 0);
}

static void test_edge_message(void)
{
    reset();
    /* Pin 4: vector 0x34, fixed, physical destination 1. */
    set_entry(4, 0x0100000000000034ull);
    pin(4, 1);
    g_assert_cmpint(nmsgs, ==, 1);
    g_assert_cmphex(msgs[0].addr, ==, 0xfee01000);
    g_assert_cmphex(msgs[0].data, ==, 0x34);
    pin(4, 1);                                       /* no new edge */
    g_assert_cmpint(nmsgs, ==, 1);
    pin(4, 0);
    pin(4, 1);
    g_assert_cmpint(nmsgs, ==, 2);
    pin(4, 0);

    /* Lowest priority, logical destination 0x0f; NMI; ExtINT; INIT. */
    set_entry(5, 0x0f00000000000941ull);
    pin(5, 1);
    g_assert_cmphex(msgs[2].addr, ==, 0xfee0f004);
    g_assert_cmphex(msgs[2].data, ==, 0x141);
    set_entry(6, 0x0300000000000400ull);
    pin(6, 1);
    g_assert_cmphex(msgs[3].addr, ==, 0xfee03000);
    g_assert_cmphex(msgs[3].data, ==, 0x400);
    set_entry(0, 0x0000000000000700ull);
    pin(0, 1);
    g_assert_cmphex(msgs[4].data, ==, 0x700);
    g_assert_cmpint(nmsgs, ==, 5);
}

static void test_masked(void)
{
    reset();
    set_entry(9, 0x0000000000010039ull);             /* masked edge */
    pin(9, 1);
    pin(9, 0);
    g_assert_cmpint(nmsgs, ==, 0);
    /* As QEMU: the request is held and goes out on unmask. */
    set_entry(9, 0x0000000000000039ull);
    g_assert_cmpint(nmsgs, ==, 1);
    g_assert_cmphex(msgs[0].data, ==, 0x39);
    set_entry(9, 0x0000000000000039ull);
    g_assert_cmpint(nmsgs, ==, 1);
}

static void test_level_remote_irr(void)
{
    reset();
    set_entry(10, 0x020000000000a05aull);            /* level, active low, vector 0x5a */
    pin(10, 1);
    g_assert_cmpint(nmsgs, ==, 1);
    g_assert_cmphex(msgs[0].addr, ==, 0xfee02000);
    g_assert_cmphex(msgs[0].data, ==, 0x805a);
    g_assert_cmphex(reg_read(0x10 + 20) & (1 << 14), !=, 0);   /* Remote IRR */
    pin(10, 0);
    pin(10, 1);
    g_assert_cmpint(nmsgs, ==, 1);                   /* held by Remote IRR */
    /* EOI of another vector changes nothing. */
    ioapic_eoi_broadcast(ioapic, 0x5b);
    g_assert_cmpint(nmsgs, ==, 1);
    /* EOI with the line still asserted: delivered again. */
    ioapic_eoi_broadcast(ioapic, 0x5a);
    g_assert_cmpint(nmsgs, ==, 2);
    g_assert_cmphex(reg_read(0x10 + 20) & (1 << 14), !=, 0);
    pin(10, 0);
    /* The version 0x20 EOI register does the same. */
    writel(IOEOI, 0x5a);
    g_assert_cmphex(reg_read(0x10 + 20) & (1 << 14), ==, 0);
    g_assert_cmpint(nmsgs, ==, 2);
    /* Level and masked: nothing; unmasked while asserted: sent. */
    set_entry(10, 0x020000000001a05aull);
    pin(10, 1);
    g_assert_cmpint(nmsgs, ==, 2);
    set_entry(10, 0x020000000000a05aull);
    g_assert_cmpint(nmsgs, ==, 3);
    /* Switching to edge drops a stale Remote IRR. */
    set_entry(10, 0x020000000001205aull);
    g_assert_cmphex(reg_read(0x10 + 20) & (1 << 14), ==, 0);
    pin(10, 0);
}

/* `info pic` lines; the expected text is QEMU 7.2's for the same register state. */
static void test_dump(void)
{
    reset();
    for (int p = 0; p < 8; p++) {
        reg_write(0x11 + 2 * p, (uint32_t)(p * 17) << 24);
        reg_write(0x10 + 2 * p, (0x20 + p) | p << 8 | (p & 1) << 11 | (p & 2) << 12 |
                                (p & 4) << 13 | ((p >> 1) & 1) << 16);
    }
    reg_write(0x10 + 2 * 9, 0x29 | 1 << 15);
    writel(IOREGSEL, 0x13);
    GString *out = g_string_new(NULL);
    ioapic_dump(ioapic, out);
    const char *want =
        "ioapic0: ver=0x20 id=0x00 sel=0x13 (redir[1])\n"
        "  pin 0  0x0000000000000020 dest=0 vec=32  active-hi edge         fixed  physical\n"
        "  pin 1  0x1100000000000921 dest=11 vec=33  active-hi edge         lowest logical\n"
        "  pin 2  0x2200000000012222 dest=2 vec=34  active-lo edge  masked SMI    physical\n"
        "  pin 3  0x3300000000012b23 dest=33 vec=35  active-lo edge  masked ...    logical\n"
        "  pin 4  0x4400000000008424 dest=4 vec=36  active-hi level        NMI    physical\n"
        "  pin 5  0x5500000000008d25 dest=55 vec=37  active-hi level        INIT   logical\n"
        "  pin 6  0x660000000001a626 dest=6 vec=38  active-lo level masked ...    physical\n"
        "  pin 7  0x770000000001af27 dest=77 vec=39  active-lo level masked extINT logical\n"
        "  pin 8  0x0000000000010000 dest=0 vec=0   active-hi edge  masked fixed  physical\n"
        "  pin 9  0x0000000000008029 dest=0 vec=41  active-hi level        fixed  physical\n"
        "  pin 10 0x0000000000010000 dest=0 vec=0   active-hi edge  masked fixed  physical\n";
    g_assert_true(g_str_has_prefix(out->str, want));
    g_assert_true(g_str_has_suffix(out->str,
        "  pin 23 0x0000000000010000 dest=0 vec=0   active-hi edge  masked fixed  physical\n"
        "  IRR      (none)\n"
        "  Remote IRR (none)\n"));
    /* A level pin held by Remote IRR, as QEMU shows it. */
    reset();
    set_entry(4, 0x8044);
    pin(4, 1);
    g_string_truncate(out, 0);
    ioapic_dump(ioapic, out);
    g_assert_true(g_str_has_suffix(out->str, "  IRR      4  \n  Remote IRR 4  \n"));
    pin(4, 0);
    g_string_free(out, true);
}

static void test_vmstate(void)
{
    reset();
    set_entry(3, 0x030000000000a033ull);
    pin(3, 1);
    reg_write(0, 0x05000000);
    const DeviceClass *dc = device_type_find(TYPE_IOAPIC);
    GByteArray *buf = g_byte_array_new();
    vmstate_save(dc->vmsd, ioapic, buf);
    pin(3, 0);
    reset();
    nmsgs = 0;
    size_t used;
    g_assert_true(vmstate_load(dc->vmsd, ioapic, buf->data, buf->len, &used, &error_abort));
    g_assert_cmpint(nmsgs, ==, 0);                   /* Remote IRR restored: no resend */
    g_assert_cmphex(reg_read(0), ==, 0x05000000);
    g_assert_cmphex(reg_read(0x10 + 6), ==, 0x0000e033);
    g_byte_array_free(buf, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    intc_test_init();
    ioapic = ioapic_init(deliver, &msgs, &error_abort);
    g_test_add_func("/ioapic/registers", test_registers);
    g_test_add_func("/ioapic/edge-message", test_edge_message);
    g_test_add_func("/ioapic/masked", test_masked);
    g_test_add_func("/ioapic/level-remote-irr", test_level_remote_irr);
    g_test_add_func("/ioapic/dump", test_dump);
    g_test_add_func("/ioapic/vmstate", test_vmstate);
    return g_test_run();
}
