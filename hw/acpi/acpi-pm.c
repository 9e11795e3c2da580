/*
 * ACPI PM registers of the PIIX4 power-management function, per the Intel 82371AB
 * PIIX4 datasheet §7.2 "Power Management I/O Registers" (PMSTS at PMBA+00h, PMEN
 * +02h, PMCNTRL +04h, PMTMR +08h) and the ACPI specification §4.8.3 "Fixed Hardware
 * Registers":
 *   PM1_STS  TMR_STS (0), BM_STS (4), GBL_STS (5), PWRBTN_STS (8), SLPBTN_STS (9),
 *            RTC_STS (10), WAK_STS (15); a 1 written clears the bit
 *   PM1_EN   TMR_EN (0), GBL_EN (5), PWRBTN_EN (8), SLPBTN_EN (9), RTC_EN (10)
 *   PM1_CNT  SCI_EN (0), BM_RLD (1), GBL_RLS (2, write-only), SLP_TYP (12:10),
 *            SLP_EN (13, write-only: writing 1 enters the sleep state SLP_TYP)
 *   PM_TMR   24-bit free-running counter at 3.579545 MHz; TMR_STS is set each time
 *            its bit 23 toggles
 *   GPE0     GPE0_STS (write 1 to clear) then GPE0_EN, 16 bits each
 * SCI is asserted while any enabled status bit is set (level), as QEMU models it; it
 * is not gated by SCI_EN.  Sleep types follow QEMU's DSDT (\_S5 = 0, S4 = 2): both
 * power the machine off; S3 (1) is not supported and ignored.
 * The timer counts the virtual clock (so it stops while the VM is paused and is
 * stepped by qtest's clock_step).
 */
#include "hw/acpi/acpi-pm.h"

#include <glib.h>

#include "hw/isa.h"
#include "hw/qdev.h"
#include "system/runstate.h"

#define ACPI_BITMASK_TIMER_STATUS      0x0001
#define ACPI_BITMASK_BUS_MASTER_STATUS 0x0010
#define ACPI_BITMASK_GLOBAL_LOCK_STATUS 0x0020
#define ACPI_BITMASK_POWER_BUTTON_STATUS 0x0100
#define ACPI_BITMASK_SLEEP_BUTTON_STATUS 0x0200
#define ACPI_BITMASK_RT_CLOCK_STATUS   0x0400
#define ACPI_BITMASK_WAKE_STATUS       0x8000

#define ACPI_BITMASK_TIMER_ENABLE      0x0001
#define ACPI_BITMASK_GLOBAL_LOCK_ENABLE 0x0020
#define ACPI_BITMASK_POWER_BUTTON_ENABLE 0x0100
#define ACPI_BITMASK_SLEEP_BUTTON_ENABLE 0x0200
#define ACPI_BITMASK_RT_CLOCK_ENABLE   0x0400
#define ACPI_PM1_EN_MASK               0x0721

#define ACPI_BITMASK_SCI_ENABLE        0x0001
#define ACPI_BITMASK_BM_RLD            0x0002
#define ACPI_BITMASK_GBL_RLS           0x0004
#define ACPI_BITMASK_SLEEP_TYPE        0x1c00
#define ACPI_BITMASK_SLEEP_ENABLE      0x2000

#define ACPI_SLP_TYP_S5 0 /* QEMU's DSDT: Name (_S5, Package () { 0, 0, 0, 0 }) */
#define ACPI_SLP_TYP_S3 1
#define ACPI_SLP_TYP_S4 2

#define ACPI_APM_ENABLE  0xf1
#define ACPI_APM_DISABLE 0xf0

#define PM_TMR_MASK 0xffffff

static AcpiPMState *acpi_pm_last;

AcpiPMState *acpi_pm_find(void)
{
    return acpi_pm_last;
}

/* ---- PM timer -------------------------------------------------------------------- */

static uint64_t acpi_pm_ticks(int64_t ns)
{
    if (ns < 0) {
        ns = 0;
    }
    return (uint64_t)(((unsigned __int128)ns * ACPI_PM_TIMER_FREQUENCY) / 1000000000u);
}

static uint32_t acpi_pm_timer_value(void)
{
    return (uint32_t)(acpi_pm_ticks(clock_get_ns(KEMU_CLOCK_VIRTUAL)) & PM_TMR_MASK);
}

/* Account bit-23 toggles since the last look: each sets TMR_STS. */
static void acpi_pm_timer_update_status(AcpiPMState *pm)
{
    uint32_t toggles = (uint32_t)(acpi_pm_ticks(clock_get_ns(KEMU_CLOCK_VIRTUAL)) >> 23);

    if (toggles != pm->tmr_toggles) {
        pm->tmr_toggles = toggles;
        pm->pm1_sts |= ACPI_BITMASK_TIMER_STATUS;
    }
}

static void acpi_pm_update_sci(AcpiPMState *pm)
{
    acpi_pm_timer_update_status(pm);
    int level = (pm->pm1_sts & pm->pm1_en & ACPI_PM1_EN_MASK) != 0 ||
                (pm->gpe0_sts & pm->gpe0_en) != 0;
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(pm->sci, level);
    }
    /* With TMR_EN, wake up at the next toggle of bit 23 to raise SCI on time. */
    if (pm->tmr_timer) {
        if (pm->pm1_en & ACPI_BITMASK_TIMER_ENABLE) {
            uint64_t next = ((uint64_t)pm->tmr_toggles + 1) << 23;
            unsigned __int128 ns = ((unsigned __int128)next * 1000000000u +
                                    ACPI_PM_TIMER_FREQUENCY - 1) / ACPI_PM_TIMER_FREQUENCY;
            timer_mod(pm->tmr_timer, (int64_t)ns);
        } else {
            timer_del(pm->tmr_timer);
        }
    }
}

static void acpi_pm_tmr_cb(void *opaque)
{
    acpi_pm_update_sci(opaque);
}

/* ---- registers --------------------------------------------------------------------- */

static void acpi_pm_write_cnt(AcpiPMState *pm, uint16_t val, uint16_t mask)
{
    /* Everything but the write-only SLP_EN reads back (reserved bits too, as QEMU). */
    uint16_t writable = (uint16_t)~ACPI_BITMASK_SLEEP_ENABLE;

    pm->pm1_cnt = (pm->pm1_cnt & ~(mask & writable)) | (val & mask & writable);
    if ((mask & val & ACPI_BITMASK_SLEEP_ENABLE)) {
        unsigned slp_typ = (pm->pm1_cnt & ACPI_BITMASK_SLEEP_TYPE) >> 10;
        if (slp_typ == ACPI_SLP_TYP_S5 || slp_typ == ACPI_SLP_TYP_S4) {
            system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        }
        /* S3 and undefined types: no suspend support; the write has no effect. */
    }
}

/* Register file as little-endian bytes 0..11; one access may span registers. */
static uint64_t acpi_pm_read(void *opaque, hwaddr addr, unsigned size)
{
    AcpiPMState *pm = opaque;
    uint8_t regs[12];

    acpi_pm_timer_update_status(pm);
    uint32_t tmr = acpi_pm_timer_value();
    uint16_t words[4] = { pm->pm1_sts, pm->pm1_en, pm->pm1_cnt, 0 };
    for (int i = 0; i < 4; i++) {
        regs[2 * i] = (uint8_t)words[i];
        regs[2 * i + 1] = words[i] >> 8;
    }
    for (int i = 0; i < 4; i++) {
        regs[8 + i] = (uint8_t)(tmr >> (8 * i));
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < size && addr + i < sizeof(regs); i++) {
        v |= (uint64_t)regs[addr + i] << (8 * i);
    }
    return v;
}

static void acpi_pm_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    AcpiPMState *pm = opaque;

    /* Split into 16-bit registers with a byte mask. */
    for (unsigned i = 0; i < size;) {
        hwaddr a = addr + i;
        unsigned reg = (unsigned)(a & ~1u);
        unsigned shift = (a & 1) ? 8 : 0;
        unsigned n = (!(a & 1) && size - i >= 2) ? 2 : 1;
        uint16_t mask = n == 2 ? 0xffff : (uint16_t)(0xff << shift);
        uint16_t v = (uint16_t)(((val >> (8 * i)) & (n == 2 ? 0xffff : 0xff)) << shift);

        switch (reg) {
        case 0: /* PM1_STS: write 1 to clear */
            acpi_pm_timer_update_status(pm);
            pm->pm1_sts &= ~(v & mask);
            break;
        case 2: /* PM1_EN */
            /* Reserved bits read back as written (as QEMU); only the defined
             * enables take part in SCI (ACPI_PM1_EN_MASK). */
            pm->pm1_en = (pm->pm1_en & ~mask) | (v & mask);
            break;
        case 4: /* PM1_CNT */
            acpi_pm_write_cnt(pm, v, mask);
            break;
        default:
            break; /* PM_TMR and reserved bytes are read-only */
        }
        i += n;
    }
    acpi_pm_update_sci(pm);
}

static const MemoryRegionOps acpi_pm_ops = {
    .read = acpi_pm_read,
    .write = acpi_pm_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 4,
    .unaligned = true,
};

static uint64_t acpi_gpe_read(void *opaque, hwaddr addr, unsigned size)
{
    AcpiPMState *pm = opaque;
    uint32_t regs = pm->gpe0_sts | (uint32_t)pm->gpe0_en << 16;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && addr + i < 4; i++) {
        v |= (uint64_t)((regs >> (8 * (addr + i))) & 0xff) << (8 * i);
    }
    return v;
}

static void acpi_gpe_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    AcpiPMState *pm = opaque;

    for (unsigned i = 0; i < size && addr + i < 4; i++) {
        unsigned a = (unsigned)(addr + i);
        uint16_t b = (uint16_t)(((val >> (8 * i)) & 0xff) << ((a & 1) * 8));
        uint16_t mask = (uint16_t)(0xff << ((a & 1) * 8));
        if (a < 2) {
            pm->gpe0_sts &= ~(b & mask);
        } else {
            pm->gpe0_en = (pm->gpe0_en & ~mask) | (b & mask);
        }
    }
    acpi_pm_update_sci(pm);
}

static const MemoryRegionOps acpi_gpe_ops = {
    .read = acpi_gpe_read,
    .write = acpi_gpe_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 4,
    .unaligned = true,
};

/* ---- API ------------------------------------------------------------------------- */

void acpi_pm_reset(AcpiPMState *pm)
{
    pm->pm1_sts = 0;
    pm->pm1_en = 0;
    pm->pm1_cnt = pm->sci_en_at_reset ? ACPI_BITMASK_SCI_ENABLE : 0;
    pm->gpe0_sts = 0;
    pm->gpe0_en = 0;
    pm->tmr_toggles = (uint32_t)(acpi_pm_ticks(clock_get_ns(KEMU_CLOCK_VIRTUAL)) >> 23);
    pm->sci_level = -1;
    acpi_pm_update_sci(pm);
}

void acpi_pm_setup(AcpiPMState *pm, MemoryRegion *parent_io, uint16_t pm_base,
                   uint16_t gpe0_base, Irq *sci)
{
    pm->parent_io = parent_io;
    pm->sci = sci;
    pm->pm_base = pm_base;
    pm->gpe0_base = gpe0_base;
    pm->tmr_timer = timer_new_ns(KEMU_CLOCK_VIRTUAL, acpi_pm_tmr_cb, pm);
    memory_region_init_container(&pm->container, "piix4-pm", 64);
    memory_region_init_io(&pm->io_pm, &acpi_pm_ops, pm, "acpi-pm", 12);
    memory_region_add_subregion(&pm->container, 0, &pm->io_pm);
    memory_region_init_io(&pm->io_gpe, &acpi_gpe_ops, pm, "acpi-gpe0", 4);
    if (pm_base) {
        memory_region_add_subregion(parent_io, pm_base, &pm->container);
        pm->mapped = true;
    }
    if (gpe0_base) {
        memory_region_add_subregion(parent_io, gpe0_base, &pm->io_gpe);
    }
    acpi_pm_last = pm;
    acpi_pm_reset(pm);
}

AcpiPMState *acpi_pm_init(MemoryRegion *parent_io, uint16_t pm_base, uint16_t gpe0_base,
                          Irq *sci)
{
    AcpiPMState *pm = g_new0(AcpiPMState, 1);

    acpi_pm_setup(pm, parent_io, pm_base, gpe0_base, sci);
    return pm;
}

MemoryRegion *acpi_pm_io_region(AcpiPMState *pm)
{
    return &pm->container;
}

void acpi_pm_set_base(AcpiPMState *pm, uint16_t pm_base, bool enabled)
{
    if (pm->mapped) {
        memory_region_del_subregion(pm->parent_io, &pm->container);
        pm->mapped = false;
    }
    pm->pm_base = pm_base;
    if (enabled) {
        memory_region_add_subregion(pm->parent_io, pm_base, &pm->container);
        pm->mapped = true;
    }
}

void acpi_pm_apm_command(AcpiPMState *pm, uint8_t val)
{
    if (val == ACPI_APM_ENABLE) {
        pm->pm1_cnt |= ACPI_BITMASK_SCI_ENABLE;
    } else if (val == ACPI_APM_DISABLE) {
        pm->pm1_cnt &= ~ACPI_BITMASK_SCI_ENABLE;
    }
}

void acpi_pm_power_button(AcpiPMState *pm)
{
    pm->pm1_sts |= ACPI_BITMASK_POWER_BUTTON_STATUS;
    acpi_pm_update_sci(pm);
}

void acpi_pm_gpe_event(AcpiPMState *pm, unsigned bit)
{
    if (bit < 16) {
        pm->gpe0_sts |= (uint16_t)(1u << bit);
        acpi_pm_update_sci(pm);
    }
}

static int acpi_pm_post_load(void *opaque, int version_id)
{
    AcpiPMState *pm = opaque;

    pm->sci_level = -1;
    acpi_pm_update_sci(pm);
    return 0;
}

static const VMStateField vmstate_acpi_pm_fields[] = {
    VMSTATE_UINT16(pm1_sts, AcpiPMState),
    VMSTATE_UINT16(pm1_en, AcpiPMState),
    VMSTATE_UINT16(pm1_cnt, AcpiPMState),
    VMSTATE_UINT16(gpe0_sts, AcpiPMState),
    VMSTATE_UINT16(gpe0_en, AcpiPMState),
    VMSTATE_UINT32(tmr_toggles, AcpiPMState),
    VMSTATE_END_OF_LIST(),
};

const VMStateDescription vmstate_acpi_pm = {
    .name = "acpi-pm",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = acpi_pm_post_load,
    .fields = vmstate_acpi_pm_fields,
};

/* ---- "isa-acpi-pm": the block as a device, until the PIIX4 PM PCI function wraps it. */

typedef struct ISAAcpiPMState {
    ISADevice parent;
    uint16_t iobase;
    uint16_t gpe0_base;
    uint8_t sci_irq;
    bool sci_en;
    AcpiPMState pm;
} ISAAcpiPMState;

static void isa_acpi_pm_realize(DeviceState *dev, Error **errp)
{
    ISAAcpiPMState *s = (ISAAcpiPMState *)dev;

    if (s->sci_irq >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"sci-irq\" is: %u", ISA_NUM_IRQS - 1);
        return;
    }
    s->pm.sci_en_at_reset = s->sci_en;
    acpi_pm_setup(&s->pm, get_system_io(), s->iobase, s->gpe0_base, isa_get_irq(s->sci_irq));
}

static void isa_acpi_pm_reset(DeviceState *dev)
{
    acpi_pm_reset(&((ISAAcpiPMState *)dev)->pm);
}

static const VMStateField vmstate_isa_acpi_pm_fields[] = {
    VMSTATE_STRUCT(pm, ISAAcpiPMState, vmstate_acpi_pm, AcpiPMState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_isa_acpi_pm = {
    .name = "isa-acpi-pm",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_isa_acpi_pm_fields,
};

static const Property isa_acpi_pm_props[] = {
    DEFINE_PROP_UINT16("iobase", ISAAcpiPMState, iobase, 0x600),
    DEFINE_PROP_UINT16("gpe0-base", ISAAcpiPMState, gpe0_base, 0xafe0),
    DEFINE_PROP_UINT8("sci-irq", ISAAcpiPMState, sci_irq, 9),
    DEFINE_PROP_BOOL("sci-en", ISAAcpiPMState, sci_en, false),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass isa_acpi_pm_class = {
    .name = "isa-acpi-pm",
    .instance_size = sizeof(ISAAcpiPMState),
    .desc = "ACPI PM1/PM timer/GPE0 registers (PIIX4 PM layout)",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .bus_type = "isa",
    .props = isa_acpi_pm_props,
    .realize = isa_acpi_pm_realize,
    .reset = isa_acpi_pm_reset,
    .vmsd = &vmstate_isa_acpi_pm,
};

DEVICE_TYPE_REGISTER(isa_acpi_pm_class)
