/*
 * Guest-input robustness of the PIC, I/O APIC, local APICs and PIT: a deterministic
 * stream of random port and MMIO accesses (every register offset and index, all sizes)
 * with clock steps in between.  Nothing may crash, hang or trip ASan/UBSan; the vCPU side
 * takes every vector it is offered, as a CPU would.
 */
#include <glib.h>

#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/timer/i8254.h"
#include "intc-test.h"

#define NCPUS 2

extern X86CPU *test_current_cpu;

static X86CPU cpus[NCPUS];
static PICState *pic;
static int ninterrupts;

static void cpu_interrupt(X86CPU *cpu, int mask, uint8_t vector)
{
    ninterrupts++;
}

static int board_pic_read_irq(void *opaque)
{
    return pic_read_irq(opaque);
}

static void board_eoi(void *opaque, int vector)
{
    ioapic_eoi_broadcast(opaque, vector);
}

static void ioapic_deliver(void *opaque, uint64_t addr, uint32_t data)
{
    apic_deliver_msi(addr, data);
}

static void pic_intr(void *opaque, int n, int level)
{
    for (int i = 0; i < NCPUS; i++) {
        if (cpus[i].apic) {
            apic_deliver_pic_intr(cpus[i].apic, level);
        }
    }
}

static void fuzz_access(AddressSpace *as, hwaddr a, GRand *r)
{
    static const unsigned sizes[] = { 1, 2, 4 };
    uint64_t v = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
    unsigned size = sizes[g_rand_int_range(r, 0, 3)];

    if (g_rand_boolean(r)) {
        v &= size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
        address_space_ldst(as, a, &v, size, true);
    } else {
        address_space_ldst(as, a, &v, size, false);
    }
}

static void test_fuzz(void)
{
    GRand *r = g_rand_new_with_seed(0x8259);
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
                                      0x40, 0x41, 0x42, 0x43, 0x61 };

    for (int iter = 0; iter < 200000; iter++) {
        int what = g_rand_int_range(r, 0, 10);
        test_current_cpu = g_rand_boolean(r) ? &cpus[g_rand_int_range(r, 0, NCPUS)] : NULL;
        switch (what) {
        case 0:
        case 1:
            fuzz_access(&address_space_io, ports[g_rand_int_range(r, 0, G_N_ELEMENTS(ports))], r);
            break;
        case 2:
            fuzz_access(&address_space_memory, 0xfec00000 + g_rand_int_range(r, 0, 0x50), r);
            break;
        case 3: {
            /* Select a plausible index, then hit IOWIN. */
            uint64_t idx = g_rand_int_range(r, 0, 0x100);
            address_space_ldst(&address_space_memory, 0xfec00000, &idx, 4, true);
            fuzz_access(&address_space_memory, 0xfec00010, r);
            break;
        }
        case 4:
        case 5:
            fuzz_access(&address_space_memory, 0xfee00000 + (g_rand_int_range(r, 0, 0x400) & ~3u),
                   r);
            break;
        case 6:
            fuzz_access(&address_space_memory, 0xfee00000 + g_rand_int_range(r, 0, 0x100000), r);
            break;
        case 7:
            irq_set(i8259_get_irq(pic, g_rand_int_range(r, 0, 16)), g_rand_boolean(r));
            break;
        case 8:
            clock_virtual_step(g_rand_int_range(r, 1, 200000));
            break;
        default:
            for (int i = 0; i < NCPUS; i++) {
                int v = apic_get_interrupt(cpus[i].apic);
                g_assert_cmpint(v, >=, -1);
                g_assert_cmpint(v, <=, 255);
            }
            break;
        }
        test_current_cpu = NULL;
    }
    g_rand_free(r);
    g_test_message("%d CPU interrupt requests, virtual clock at %" G_GINT64_FORMAT " ns",
                   ninterrupts, clock_get_ns(KEMU_CLOCK_VIRTUAL));
    g_assert_cmpint(ninterrupts, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    intc_test_init();
    pic = i8259_init(irq_new(pic_intr, NULL, 0), &error_abort);
    IOAPICState *ioapic = ioapic_init(ioapic_deliver, NULL, &error_abort);
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
        cpus[i].is_bsp = i == 0;
        apic_create(&cpus[i], i, &error_abort);
    }
    PITState *pit = pit_init(0x40, i8259_get_irq(pic, 0), &error_abort);
    pcspk_init(pit, &error_abort);
    g_test_add_func("/intc/fuzz", test_fuzz);
    return g_test_run();
}
