/*
 * Local xAPIC (hw/intc/apic.c) with four fake CPUs: register reset values, IPIs (fixed,
 * NMI, INIT, SIPI, shorthands), physical and logical (flat, cluster) destinations,
 * lowest-priority arbitration, TPR/PPR masking, EOI of level interrupts reaching a real
 * I/O APIC, ExtINT from a real 8259 pair through LINT0, ESR errors, the timer in one-shot,
 * periodic and TSC-deadline modes on the stepped virtual clock, MSI writes, vmstate.
 */
#include <glib.h>
#include <string.h>

#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "intc-test.h"

#define NCPUS 4
#define APIC 0xfee00000ull

extern X86CPU *test_current_cpu;

static X86CPU cpus[NCPUS];
static APICState *apics[NCPUS];
static int requests[NCPUS];       /* CPU_INTERRUPT_* bits raised */
static uint8_t sipi[NCPUS];
static int eoi_vectors[16];
static int neoi;
static PICState *pic;
static IOAPICState *ioapic;

static void cpu_interrupt(X86CPU *cpu, int mask, uint8_t vector)
{
    requests[cpu->index] |= mask;
    if (mask & CPU_INTERRUPT_SIPI) {
        sipi[cpu->index] = vector;
    }
}

static int board_pic_read_irq(void *opaque)
{
    return pic_read_irq(opaque);
}

static void board_eoi(void *opaque, int vector)
{
    if (neoi < 16) {
        eoi_vectors[neoi++] = vector;
    }
    ioapic_eoi_broadcast(opaque, vector);
}

static void ioapic_deliver(void *opaque, uint64_t addr, uint32_t data)
{
    apic_deliver_msi(addr, data);
}

static void pic_intr(void *opaque, int n, int level)
{
    for (int i = 0; i < NCPUS; i++) {
        if (apics[i]) {
            apic_deliver_pic_intr(apics[i], level);
        }
    }
}

/* Register access as CPU `c`. */
static uint32_t rd(int c, unsigned off)
{
    test_current_cpu = &cpus[c];
    uint32_t v = readl(APIC + off);
    test_current_cpu = NULL;
    return v;
}

static void wr(int c, unsigned off, uint32_t v)
{
    test_current_cpu = &cpus[c];
    writel(APIC + off, v);
    test_current_cpu = NULL;
}

static bool irr_has(int c, int v)
{
    return rd(c, 0x200 + (v / 32) * 0x10) & (1u << (v % 32));
}

static bool isr_has(int c, int v)
{
    return rd(c, 0x100 + (v / 32) * 0x10) & (1u << (v % 32));
}

static void send_ipi(int from, uint8_t dest, uint32_t lo)
{
    wr(from, 0x310, (uint32_t)dest << 24);
    wr(from, 0x300, lo);
}

static void reset_all(void)
{
    for (int i = 0; i < NCPUS; i++) {
        device_type_find(TYPE_APIC)->reset((DeviceState *)apics[i]);
        wr(i, 0xf0, 0x1ff);          /* software enable, spurious vector 0xff */
        requests[i] = 0;
        sipi[i] = 0;
    }
    neoi = 0;
}

static void test_reset_values(void)
{
    for (int i = 0; i < NCPUS; i++) {
        device_type_find(TYPE_APIC)->reset((DeviceState *)apics[i]);
    }
    g_assert_cmphex(rd(2, 0x20), ==, 0x02000000);
    g_assert_cmphex(rd(0, 0x30), ==, 0x00050014);
    g_assert_cmphex(rd(0, 0x80), ==, 0);
    g_assert_cmphex(rd(0, 0xd0), ==, 0);
    g_assert_cmphex(rd(0, 0xe0), ==, 0xffffffff);
    g_assert_cmphex(rd(0, 0xf0), ==, 0xff);
    for (unsigned off = 0x320; off <= 0x370; off += 0x10) {
        /* The BSP's LINT0 is in virtual wire mode (ExtINT, unmasked). */
        g_assert_cmphex(rd(0, off), ==, off == 0x350 ? 0x700 : 0x00010000);
        g_assert_cmphex(rd(1, off), ==, 0x00010000);
    }
    g_assert_cmphex(apic_get_base(apics[0]), ==, 0xfee00900);
    g_assert_cmphex(apic_get_base(apics[1]), ==, 0xfee00800);
    /* Software-disabled: LVT mask bits cannot be cleared. */
    wr(1, 0x350, 0x700);
    g_assert_cmphex(rd(1, 0x350), ==, 0x10700);
    /* ... and the BSP's virtual wire still takes the 8259's INT. */
    outb(0x20, 0x11);
    outb(0x21, 0x08);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0x21, 0x00);
    irq_raise(i8259_get_irq(pic, 1));
    g_assert_true(apic_has_interrupt(apics[0]));
    g_assert_false(apic_has_interrupt(apics[1]));
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x09);
    outb(0x20, 0x20);
    irq_lower(i8259_get_irq(pic, 1));
    /* INIT keeps the BSP's virtual wire. */
    apic_init_reset(apics[0]);
    g_assert_cmphex(rd(0, 0x350), ==, 0x700);
    /* Without current_cpu (qtest), accesses go to the first APIC. */
    g_assert_cmphex(readl(APIC + 0x20), ==, 0);
}

static void test_fixed_ipi_and_eoi(void)
{
    reset_all();
    send_ipi(0, 1, 0x40);
    g_assert_true(irr_has(1, 0x40));
    g_assert_false(irr_has(0, 0x40));
    g_assert_cmpint(requests[1] & CPU_INTERRUPT_HARD, !=, 0);
    g_assert_cmpint(requests[0], ==, 0);
    g_assert_true(apic_has_interrupt(apics[1]));
    g_assert_cmpint(apic_get_interrupt(apics[1]), ==, 0x40);
    g_assert_false(irr_has(1, 0x40));
    g_assert_true(isr_has(1, 0x40));
    g_assert_cmphex(rd(1, 0xa0), ==, 0x40);           /* PPR = ISRV class */
    g_assert_cmpint(apic_get_interrupt(apics[1]), ==, -1);
    /* A same-class vector waits behind the one in service, a higher class does not. */
    send_ipi(0, 1, 0x45);
    g_assert_false(apic_has_interrupt(apics[1]));
    send_ipi(0, 1, 0x51);
    g_assert_cmpint(apic_get_interrupt(apics[1]), ==, 0x51);
    wr(1, 0xb0, 0);
    g_assert_false(isr_has(1, 0x51));
    g_assert_false(apic_has_interrupt(apics[1]));      /* 0x45 vs 0x40 in service */
    wr(1, 0xb0, 0);
    g_assert_cmpint(apic_get_interrupt(apics[1]), ==, 0x45);
    wr(1, 0xb0, 0);
    g_assert_cmphex(rd(1, 0xa0), ==, 0);
    g_assert_cmpint(neoi, ==, 0);                      /* edge: no EOI broadcast */
}

static void test_logical_destinations(void)
{
    reset_all();
    /* Flat model: LDR bit per CPU. */
    for (int i = 0; i < NCPUS; i++) {
        wr(i, 0xd0, (1u << i) << 24);
    }
    send_ipi(0, 0x06, 0x800 | 0x61);
    g_assert_false(irr_has(0, 0x61));
    g_assert_true(irr_has(1, 0x61));
    g_assert_true(irr_has(2, 0x61));
    g_assert_false(irr_has(3, 0x61));
    /* Cluster model: cluster 1 holds CPUs 0, 1 (bits 0, 1), cluster 2 holds CPUs 2, 3. */
    reset_all();
    for (int i = 0; i < NCPUS; i++) {
        wr(i, 0xe0, 0x0fffffff);
        wr(i, 0xd0, (uint32_t)(((1 + i / 2) << 4) | (1u << (i % 2))) << 24);
    }
    g_assert_cmphex(rd(3, 0xe0), ==, 0x0fffffff);
    send_ipi(0, 0x22, 0x800 | 0x62);
    for (int i = 0; i < NCPUS; i++) {
        g_assert_cmpint(irr_has(i, 0x62), ==, i == 3);
    }
    send_ipi(0, 0x13, 0x800 | 0x63);
    for (int i = 0; i < NCPUS; i++) {
        g_assert_cmpint(irr_has(i, 0x63), ==, i < 2);
    }
    /* Physical broadcast. */
    send_ipi(0, 0xff, 0x64);
    for (int i = 0; i < NCPUS; i++) {
        g_assert_true(irr_has(i, 0x64));
    }
}

static void test_lowest_priority(void)
{
    reset_all();
    for (int i = 0; i < NCPUS; i++) {
        wr(i, 0xd0, (1u << i) << 24);
    }
    wr(1, 0x80, 0x20);
    wr(2, 0x80, 0x10);
    wr(3, 0x80, 0x30);
    send_ipi(0, 0x0e, 0x800 | 0x100 | 0x70);          /* lowest priority among 1-3 */
    g_assert_true(irr_has(2, 0x70));
    g_assert_false(irr_has(1, 0x70));
    g_assert_false(irr_has(3, 0x70));
    /* Focus processor: the one with the vector pending gets it again. */
    wr(2, 0x80, 0x60);
    send_ipi(0, 0x0e, 0x800 | 0x100 | 0x70);
    g_assert_false(irr_has(1, 0x70));
    /* Focus checking disabled (SVR bit 9): arbitration picks CPU 1 now. */
    for (int i = 1; i < NCPUS; i++) {
        wr(i, 0xf0, 0x3ff);
    }
    send_ipi(0, 0x0e, 0x800 | 0x100 | 0x70);
    g_assert_true(irr_has(1, 0x70));
    /* Through MSI: logical destination 0x0c, lowest priority. */
    apic_deliver_msi(0xfee0c004, 0x171);
    g_assert_true(irr_has(3, 0x71) != irr_has(2, 0x71));
    g_assert_true(irr_has(3, 0x71));                  /* APR 0x30 < 0x70 (CPU 2 has 0x70) */
}

static void test_tpr_ppr(void)
{
    reset_all();
    apic_set_tpr(apics[0], 0x50);
    g_assert_cmphex(rd(0, 0x80), ==, 0x50);
    g_assert_cmphex(rd(0, 0xa0), ==, 0x50);
    send_ipi(0, 0, 0x4f);
    g_assert_true(irr_has(0, 0x4f));
    g_assert_false(apic_has_interrupt(apics[0]));
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, -1);
    send_ipi(0, 0, 0x5f);
    g_assert_false(apic_has_interrupt(apics[0]));     /* same class as TPR: masked */
    send_ipi(0, 0, 0x60);
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x60);
    /* PPR = max(TPR, ISRV class). */
    g_assert_cmphex(rd(0, 0xa0), ==, 0x60);
    wr(0, 0xb0, 0);
    requests[0] = 0;
    wr(0, 0x80, 0x00);                                /* lowering TPR asks the CPU again */
    g_assert_cmpint(requests[0] & CPU_INTERRUPT_HARD, !=, 0);
    g_assert_cmphex(apic_get_tpr(apics[0]), ==, 0);
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x5f);
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, -1); /* 0x4f below 0x5f in service */
    wr(0, 0xb0, 0);
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x4f);
    wr(0, 0xb0, 0);
    /* APR reflects the highest of TPR, ISRV, IRRV classes. */
    send_ipi(0, 0, 0x80 | 0x03);
    g_assert_cmphex(rd(0, 0x90), ==, 0x80);
    apic_get_interrupt(apics[0]);
    wr(0, 0xb0, 0);
}

static void test_nmi_init_sipi_shorthands(void)
{
    reset_all();
    /* NMI to all excluding self. */
    wr(0, 0x300, 0xc0000 | 0x400);
    g_assert_cmpint(requests[0], ==, 0);
    for (int i = 1; i < NCPUS; i++) {
        g_assert_cmpint(requests[i], ==, CPU_INTERRUPT_NMI);
    }
    /* Fixed to all including self. */
    reset_all();
    wr(2, 0x300, 0x80000 | 0x90);
    for (int i = 0; i < NCPUS; i++) {
        g_assert_true(irr_has(i, 0x90));
    }
    /* Self. */
    wr(3, 0x300, 0x40000 | 0x91);
    g_assert_true(irr_has(3, 0x91));
    g_assert_false(irr_has(2, 0x91));
    /* INIT (assert) resets the target APIC's state but not its ID, then SIPI. */
    reset_all();
    wr(1, 0x80, 0x40);
    send_ipi(0, 1, 0xc500);
    g_assert_cmpint(requests[1], ==, CPU_INTERRUPT_INIT);
    g_assert_cmphex(rd(1, 0x80), ==, 0);
    g_assert_cmphex(rd(1, 0xf0), ==, 0xff);
    g_assert_cmphex(rd(1, 0x20), ==, 0x01000000);
    /* INIT level de-assert does nothing to the CPUs. */
    send_ipi(0, 0xff, 0x8500);
    g_assert_cmpint(requests[2], ==, 0);
    send_ipi(0, 1, 0x4600 | 0x9a);
    g_assert_cmpint(requests[1], ==, CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI);
    g_assert_cmphex(sipi[1], ==, 0x9a);
    g_assert_cmphex(rd(0, 0x300) & 0x1000, ==, 0);    /* delivery status idle */
    /* SMI. */
    send_ipi(0, 3, 0x200);
    g_assert_cmpint(requests[3], ==, CPU_INTERRUPT_SMI);
}

static void test_errors(void)
{
    reset_all();
    wr(0, 0x370, 0xee);                                /* LVT error unmasked, vector 0xee */
    send_ipi(0, 1, 0x05);                              /* illegal vector: not sent */
    g_assert_false(irr_has(1, 0x05));
    g_assert_true(irr_has(0, 0xee));                   /* error interrupt */
    g_assert_cmphex(rd(0, 0x280), ==, 0);              /* ESR updates on write */
    wr(0, 0x280, 0);
    g_assert_cmphex(rd(0, 0x280), ==, 0x20);
    wr(0, 0x280, 0);
    g_assert_cmphex(rd(0, 0x280), ==, 0);
    apic_deliver_msi(0xfee02000, 0x0a);                /* receive illegal vector */
    wr(2, 0x280, 0);
    g_assert_cmphex(rd(2, 0x280), ==, 0x40);
    rd(3, 0x040);                                      /* reserved register */
    wr(3, 0x3f0, 1);
    wr(3, 0x280, 0);
    g_assert_cmphex(rd(3, 0x280), ==, 0x80);
}

static void test_timer(void)
{
    reset_all();
    int64_t t0 = clock_get_ns(KEMU_CLOCK_VIRTUAL);

    /* One-shot, divide by 1: 1000 counts of 1 ns; the interrupt once the count passed 0. */
    wr(0, 0x3e0, 0x0b);
    wr(0, 0x320, 0x30);
    wr(0, 0x380, 1000);
    clock_virtual_step(400);
    g_assert_cmpuint(rd(0, 0x390), ==, 600);
    clock_virtual_step(600);
    g_assert_cmpuint(rd(0, 0x390), ==, 0);
    g_assert_false(irr_has(0, 0x30));
    clock_virtual_step(1);
    g_assert_true(irr_has(0, 0x30));
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x30);
    wr(0, 0xb0, 0);
    clock_virtual_step(100000);
    g_assert_false(irr_has(0, 0x30));
    g_assert_cmpuint(rd(0, 0x380), ==, 1000);

    /* Periodic, divide by 2 (TDCR 0): 99 + 1 counts of 2 ns = 200 ns per period. */
    reset_all();
    wr(1, 0x3e0, 0x00);
    wr(1, 0x320, 0x20031);
    wr(1, 0x380, 99);
    int fired = 0;
    for (int step = 0; step < 100; step++) {
        clock_virtual_step(20);
        if (apic_get_interrupt(apics[1]) == 0x31) {
            fired++;
            wr(1, 0xb0, 0);
        }
    }
    g_assert_cmpint(fired, ==, 10);
    g_assert_cmpuint(rd(1, 0x390), ==, 99);           /* exactly at a period boundary */
    clock_virtual_step(50);
    g_assert_cmpuint(rd(1, 0x390), ==, 99 - 25);
    /* Divide by 128 (TDCR 0xa). */
    wr(1, 0x3e0, 0x0a);
    wr(1, 0x380, 1000);
    clock_virtual_step(128 * 10);
    g_assert_cmpuint(rd(1, 0x390), ==, 990);
    /* Masked timer keeps counting but does not interrupt. */
    wr(1, 0x320, 0x30031);
    clock_virtual_step(128 * 2000);
    g_assert_false(irr_has(1, 0x31));
    wr(1, 0x380, 0);                                   /* stops it */
    g_assert_cmpuint(rd(1, 0x390), ==, 0);

    /* TSC-deadline: the CPU side passes the virtual-clock expiry of the deadline. */
    reset_all();
    wr(2, 0x320, 0x40032);
    wr(2, 0x380, 1234);                                /* ignored in this mode */
    g_assert_cmpuint(rd(2, 0x380), ==, 0);
    int64_t now = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    apic_set_tsc_deadline(apics[2], 0x123456, now + 500);
    g_assert_cmphex(apic_get_tsc_deadline(apics[2]), ==, 0x123456);
    clock_virtual_step(499);
    g_assert_false(irr_has(2, 0x32));
    clock_virtual_step(1);
    g_assert_true(irr_has(2, 0x32));
    g_assert_cmphex(apic_get_tsc_deadline(apics[2]), ==, 0);
    /* Leaving TSC-deadline mode disarms. */
    apic_set_tsc_deadline(apics[2], 0x200000, now + 1000);
    wr(2, 0x320, 0x00032);
    clock_virtual_step(1000);
    g_assert_cmpint(apic_get_interrupt(apics[2]), ==, 0x32);
    wr(2, 0xb0, 0);
    g_assert_false(irr_has(2, 0x32));
    g_assert_cmpint(clock_get_ns(KEMU_CLOCK_VIRTUAL), >, t0);
}

static void test_level_eoi_to_ioapic(void)
{
    reset_all();
    /* I/O APIC pin 11, level, vector 0xa1 to physical APIC 2. */
    writel(0xfec00000, 0x10 + 22 + 1);
    writel(0xfec00010, 0x02000000);
    writel(0xfec00000, 0x10 + 22);
    writel(0xfec00010, 0x80a1);
    irq_raise(ioapic_get_irq(ioapic, 11));
    g_assert_true(irr_has(2, 0xa1));
    g_assert_true(rd(2, 0x180 + 0x50) & (1u << 1));  /* TMR bit 0xa1 (word 5, bit 1) */
    g_assert_cmpint(apic_get_interrupt(apics[2]), ==, 0xa1);
    /* Still asserted at EOI: the I/O APIC delivers again. */
    wr(2, 0xb0, 0);
    g_assert_cmpint(neoi, ==, 1);
    g_assert_cmpint(eoi_vectors[0], ==, 0xa1);
    g_assert_true(irr_has(2, 0xa1));
    g_assert_cmpint(apic_get_interrupt(apics[2]), ==, 0xa1);
    irq_lower(ioapic_get_irq(ioapic, 11));
    wr(2, 0xb0, 0);
    g_assert_cmpint(neoi, ==, 2);
    g_assert_false(irr_has(2, 0xa1));
    writel(0xfec00000, 0x10 + 22);
    g_assert_cmphex(readl(0xfec00010) & 0x4000, ==, 0);
}

static void test_extint_and_msi_window(void)
{
    reset_all();
    /* Virtual wire: LINT0 ExtINT on the BSP, masked on the APs (what firmware sets). */
    wr(0, 0x350, 0x700);
    for (int i = 1; i < NCPUS; i++) {
        wr(i, 0x350, 0x10700);
    }
    outb(0x20, 0x11);
    outb(0x21, 0x08);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0x21, 0x00);
    irq_raise(i8259_get_irq(pic, 1));
    g_assert_cmpint(requests[0] & CPU_INTERRUPT_HARD, !=, 0);
    g_assert_cmpint(requests[1], ==, 0);
    g_assert_true(apic_has_interrupt(apics[0]));
    g_assert_false(apic_has_interrupt(apics[1]));
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x09);
    outb(0x20, 0x20);
    irq_lower(i8259_get_irq(pic, 1));
    g_assert_false(apic_has_interrupt(apics[0]));
    /* A hardware-disabled APIC passes INTR straight through. */
    apic_set_base(apics[1], 0xfee00000);
    irq_raise(i8259_get_irq(pic, 3));
    g_assert_true(apic_has_interrupt(apics[1]));
    g_assert_cmpint(apic_get_interrupt(apics[0]), ==, 0x0b);
    outb(0x20, 0x20);
    irq_lower(i8259_get_irq(pic, 3));
    apic_set_base(apics[1], 0xfee00800);
    /* Device MSI writes in the window: destination 3, vector 0x41. */
    writel(0xfee03000, 0x41);
    g_assert_true(irr_has(3, 0x41));
    /* Offset 0 of the page is not a register either. */
    writel(0xfee00000, 0x42);
    g_assert_true(irr_has(0, 0x42));
}

static void test_vmstate(void)
{
    reset_all();
    send_ipi(0, 1, 0x77);
    wr(1, 0x80, 0x20);
    wr(1, 0x3e0, 0x0b);
    wr(1, 0x320, 0x20035);
    wr(1, 0x380, 10000);
    clock_virtual_step(2500);
    const DeviceClass *dc = device_type_find(TYPE_APIC);
    GByteArray *buf = g_byte_array_new();
    vmstate_save(dc->vmsd, apics[1], buf);
    reset_all();
    size_t used;
    g_assert_true(vmstate_load(dc->vmsd, apics[1], buf->data, buf->len, &used, &error_abort));
    g_assert_true(irr_has(1, 0x77));
    g_assert_cmphex(rd(1, 0x80), ==, 0x20);
    g_assert_cmpuint(rd(1, 0x390), ==, 10000 - 2500);
    clock_virtual_step(7501);
    g_assert_true(irr_has(1, 0x35));
    g_byte_array_free(buf, true);
    wr(1, 0x380, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    intc_test_init();
    pic = i8259_init(irq_new(pic_intr, NULL, 0), &error_abort);
    ioapic = ioapic_init(ioapic_deliver, NULL, &error_abort);
    APICBoardOps ops = {
        .cpu_interrupt = cpu_interrupt,
        .pic_read_irq = board_pic_read_irq,
        .eoi_broadcast = board_eoi,
        .pic_opaque = pic,
        .ioapic_opaque = ioapic,
    };
    apic_set_board_ops(&ops);
    for (int i = 0; i < NCPUS; i++) {
        cpus[i].index = i;
        cpus[i].apic_id = i;
        cpus[i].is_bsp = i == 0;
        apics[i] = apic_create(&cpus[i], i, &error_abort);
        g_assert(cpus[i].apic == apics[i]);
    }
    g_test_add_func("/apic/reset-values", test_reset_values);
    g_test_add_func("/apic/fixed-ipi-eoi", test_fixed_ipi_and_eoi);
    g_test_add_func("/apic/logical-destinations", test_logical_destinations);
    g_test_add_func("/apic/lowest-priority", test_lowest_priority);
    g_test_add_func("/apic/tpr-ppr", test_tpr_ppr);
    g_test_add_func("/apic/nmi-init-sipi-shorthands", test_nmi_init_sipi_shorthands);
    g_test_add_func("/apic/errors", test_errors);
    g_test_add_func("/apic/timer", test_timer);
    g_test_add_func("/apic/level-eoi-ioapic", test_level_eoi_to_ioapic);
    g_test_add_func("/apic/extint-msi-window", test_extint_and_msi_window);
    g_test_add_func("/apic/vmstate", test_vmstate);
    return g_test_run();
}
