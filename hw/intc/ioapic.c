/*
 * "ioapic": Intel 82093AA I/O Advanced Programmable Interrupt Controller, per the
 * 82093AA datasheet (order 290566-001):
 *   §3.0 / Table 1   IOREGSEL (0x00, 8-bit register index) and IOWIN (0x10) at 0xfec00000
 *   §3.2.1 IOAPICID  (index 0x00) bits 27:24
 *   §3.2.2 IOAPICVER (index 0x01) bits 23:16 maximum redirection entry (23), bits 7:0
 *                    version
 *   §3.2.3 IOAPICARB (index 0x02) arbitration ID (reads 0, as QEMU's model)
 *   §3.2.4 IOREDTBL[0:23] (index 0x10 + 2n, 0x11 + 2n): vector 7:0, delivery mode 10:8
 *                    (fixed, lowest priority, SMI, NMI, INIT, ExtINT), DESTMOD 11,
 *                    DELIVS 12 (read-only), INTPOL 13, Remote IRR 14 (read-only), trigger
 *                    mode 15, mask 16, destination 63:56; masked after reset
 * The EOI register at 0x40 is that of the later I/O APIC version 0x20 (what QEMU's
 * pc machine reports by default, "version" property): a write of a vector acts as a
 * level-triggered EOI message for that vector.
 *
 * Semantics: an edge-triggered pin latches a request on each rising edge and sends one
 * message; a level-triggered pin sends while asserted and Remote IRR is clear, sets
 * Remote IRR, and sends again after the local APIC's EOI if still asserted.  As in QEMU,
 * a request arriving on a masked pin is held and sent when the entry is unmasked, and
 * the input level is the logical assertion (INTPOL is stored but not applied: the board's
 * Irq lines already carry asserted = 1).  Messages are MSI-format writes (address
 * 0xfee00000 | dest << 12 | DM << 2, data vector | mode << 8 | trigger << 15) passed to
 * the board's callback, so the same model feeds KVM's LAPICs and the userspace ones.
 */
#include "hw/intc/ioapic.h"

#include <glib.h>

#include "hw/qdev.h"
#include "system/memory.h"

#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN    0x10
#define IOAPIC_EOI      0x40

#define IOAPIC_REG_ID   0x00
#define IOAPIC_REG_VER  0x01
#define IOAPIC_REG_ARB  0x02
#define IOAPIC_REG_REDTBL 0x10

#define IOREDTBL_VECTOR   0xffull
#define IOREDTBL_DELMOD_SHIFT 8
#define IOREDTBL_DELMOD   (7ull << 8)
#define IOREDTBL_DESTMOD  (1ull << 11)
#define IOREDTBL_DELIVS   (1ull << 12)
#define IOREDTBL_INTPOL   (1ull << 13)
#define IOREDTBL_RIRR     (1ull << 14)
#define IOREDTBL_TRIGGER  (1ull << 15)
#define IOREDTBL_MASK     (1ull << 16)
#define IOREDTBL_DEST_SHIFT 56
#define IOREDTBL_RO_BITS  (IOREDTBL_DELIVS | IOREDTBL_RIRR)
/* Bits 55:17 are reserved; as in QEMU they keep what the guest writes. */
#define IOREDTBL_WRITABLE (~IOREDTBL_RO_BITS)

#define DELMOD_FIXED 0
#define DELMOD_LOWEST 1
#define DELMOD_SMI 2
#define DELMOD_NMI 4
#define DELMOD_INIT 5
#define DELMOD_EXTINT 7

struct IOAPICState {
    DeviceState parent;
    uint8_t id;
    uint8_t ioregsel;
    uint8_t version;
    uint32_t irr;                 /* latched requests (edge) / asserted lines (level) */
    uint32_t line;                /* input levels */
    uint64_t ioredtbl[IOAPIC_NUM_PINS];
    IOAPICDeliverFn deliver;
    void *opaque;
    Irq **inputs;
    MemoryRegion mmio;
};

static void ioapic_send(IOAPICState *s, uint64_t entry)
{
    uint64_t addr = 0xfee00000ull | ((entry >> IOREDTBL_DEST_SHIFT) & 0xff) << 12 |
                    (entry & IOREDTBL_DESTMOD ? 1u : 0u) << 2;
    uint32_t data = (entry & IOREDTBL_VECTOR) | (entry & IOREDTBL_DELMOD) |
                    (entry & IOREDTBL_TRIGGER);

    if (s->deliver) {
        s->deliver(s->opaque, addr, data);
    }
}

/* Send every pending, unmasked request that may go now. */
static void ioapic_service(IOAPICState *s)
{
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint32_t bit = 1u << pin;
        uint64_t *e = &s->ioredtbl[pin];

        if (!(s->irr & bit) || (*e & IOREDTBL_MASK)) {
            continue;
        }
        if (*e & IOREDTBL_TRIGGER) {
            if (*e & IOREDTBL_RIRR) {
                continue;
            }
            /* Remote IRR is defined for fixed and lowest-priority level interrupts only. */
            int mode = (*e & IOREDTBL_DELMOD) >> IOREDTBL_DELMOD_SHIFT;
            if (mode == DELMOD_FIXED || mode == DELMOD_LOWEST) {
                *e |= IOREDTBL_RIRR;
            }
        } else {
            s->irr &= ~bit;
        }
        ioapic_send(s, *e);
    }
}

static void ioapic_set_irq(void *opaque, int pin, int level)
{
    IOAPICState *s = opaque;

    if (pin < 0 || pin >= IOAPIC_NUM_PINS) {
        return;
    }
    uint32_t bit = 1u << pin;
    uint64_t e = s->ioredtbl[pin];

    if (e & IOREDTBL_TRIGGER) {
        if (level) {
            s->irr |= bit;
        } else {
            s->irr &= ~bit;
        }
    } else if (level && !(s->line & bit)) {
        s->irr |= bit;
    }
    if (level) {
        s->line |= bit;
    } else {
        s->line &= ~bit;
    }
    ioapic_service(s);
}

void ioapic_eoi_broadcast(IOAPICState *s, int vector)
{
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t *e = &s->ioredtbl[pin];
        if ((*e & IOREDTBL_VECTOR) == (uint64_t)(vector & 0xff) && (*e & IOREDTBL_RIRR)) {
            *e &= ~IOREDTBL_RIRR;
        }
    }
    ioapic_service(s);
}

static uint32_t ioapic_read_reg(IOAPICState *s)
{
    uint8_t idx = s->ioregsel;

    switch (idx) {
    case IOAPIC_REG_ID:
        return (uint32_t)(s->id & 0x0f) << 24;
    case IOAPIC_REG_VER:
        return s->version | (IOAPIC_NUM_PINS - 1) << 16;
    case IOAPIC_REG_ARB:
        return 0;
    default:
        if (idx >= IOAPIC_REG_REDTBL && idx < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
            int pin = (idx - IOAPIC_REG_REDTBL) >> 1;
            uint64_t e = s->ioredtbl[pin];
            return (idx & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0;
    }
}

static void ioapic_write_reg(IOAPICState *s, uint32_t val)
{
    uint8_t idx = s->ioregsel;

    if (idx == IOAPIC_REG_ID) {
        s->id = (val >> 24) & 0x0f;
        return;
    }
    if (idx < IOAPIC_REG_REDTBL || idx >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        return; /* VER, ARB and the unused indices are read-only */
    }
    int pin = (idx - IOAPIC_REG_REDTBL) >> 1;
    uint64_t *e = &s->ioredtbl[pin];
    uint64_t v;

    if (idx & 1) {
        v = (*e & 0xffffffffull) | (uint64_t)val << 32;
    } else {
        v = (*e & 0xffffffff00000000ull) | val;
    }
    v = (v & IOREDTBL_WRITABLE) | (*e & IOREDTBL_RO_BITS);
    if (!(v & IOREDTBL_TRIGGER)) {
        /* Remote IRR is undefined for edge entries; drop a stale one (Linux clears a stuck
         * Remote IRR this way on I/O APICs without an EOI register). */
        v &= ~IOREDTBL_RIRR;
    }
    bool was_level = *e & IOREDTBL_TRIGGER;
    *e = v;
    if ((v & IOREDTBL_TRIGGER) && !was_level) {
        /* Now level triggered: the request follows the line. */
        if (s->line & (1u << pin)) {
            s->irr |= 1u << pin;
        } else {
            s->irr &= ~(1u << pin);
        }
    }
    ioapic_service(s);
}

static uint64_t ioapic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr & 0xff) {
    case IOAPIC_IOREGSEL:
        return s->ioregsel;
    case IOAPIC_IOWIN:
        return size == 4 ? ioapic_read_reg(s) : 0;   /* IOWIN is a 32-bit register */
    default:
        return 0;
    }
}

static void ioapic_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr & 0xff) {
    case IOAPIC_IOREGSEL:
        s->ioregsel = val & 0xff;
        break;
    case IOAPIC_IOWIN:
        if (size == 4) {
            ioapic_write_reg(s, (uint32_t)val);
        }
        break;
    case IOAPIC_EOI:
        if (s->version >= 0x20) {
            ioapic_eoi_broadcast(s, val & 0xff);
        }
        break;
    default:
        break;
    }
}

static const MemoryRegionOps ioapic_mmio_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
    .valid_min = 1,
    .valid_max = 4,
};

static void ioapic_realize(DeviceState *dev, Error **errp)
{
    IOAPICState *s = (IOAPICState *)dev;

    if (s->version != 0x11 && s->version != 0x20) {
        error_setg(errp, "ioapic: version %d is not supported (0x11 or 0x20)", s->version);
        return;
    }
    s->inputs = irq_allocate(ioapic_set_irq, s, IOAPIC_NUM_PINS);
    memory_region_init_io(&s->mmio, &ioapic_mmio_ops, s, "ioapic", 0x1000);
    memory_region_add_subregion(get_system_memory(), IOAPIC_DEFAULT_BASE, &s->mmio);
}

static void ioapic_unrealize(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    memory_region_del_subregion(get_system_memory(), &s->mmio);
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        irq_free(s->inputs[i]);
    }
    g_free(s->inputs);
}

/* §3.2.4: every entry masked after reset; ID and IOREGSEL cleared. */
static void ioapic_reset(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    s->id = 0;
    s->ioregsel = 0;
    s->irr = 0;
    s->line = 0;
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        s->ioredtbl[i] = IOREDTBL_MASK;
    }
}

static int ioapic_post_load(void *opaque, int version_id)
{
    IOAPICState *s = opaque;

    s->id &= 0x0f;
    ioapic_service(s);
    return 0;
}

static const VMStateField vmstate_ioapic_fields[] = {
    VMSTATE_UINT8(id, IOAPICState),
    VMSTATE_UINT8(ioregsel, IOAPICState),
    VMSTATE_UINT32(irr, IOAPICState),
    VMSTATE_UINT32(line, IOAPICState),
    VMSTATE_UINT64_ARRAY(ioredtbl, IOAPICState, IOAPIC_NUM_PINS),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_ioapic = {
    .name = "ioapic",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ioapic_post_load,
    .fields = vmstate_ioapic_fields,
};

static const Property ioapic_props[] = {
    DEFINE_PROP_UINT8("version", IOAPICState, version, 0x20),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass ioapic_class = {
    .name = TYPE_IOAPIC,
    .instance_size = sizeof(IOAPICState),
    .desc = "Intel 82093AA I/O APIC (userspace)",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .props = ioapic_props,
    .realize = ioapic_realize,
    .unrealize = ioapic_unrealize,
    .reset = ioapic_reset,
    .vmsd = &vmstate_ioapic,
};

DEVICE_TYPE_REGISTER(ioapic_class)

IOAPICState *ioapic_init(IOAPICDeliverFn deliver, void *opaque, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_IOAPIC, errp);

    if (!dev) {
        return NULL;
    }
    IOAPICState *s = (IOAPICState *)dev;
    s->deliver = deliver;
    s->opaque = opaque;
    if (!qdev_realize(dev, NULL, errp)) {
        g_free(dev);
        return NULL;
    }
    ioapic_reset(dev);
    return s;
}

static void ioapic_dump_pins(GString *out, const char *name, uint32_t pins)
{
    g_string_append_printf(out, "  %-8s ", name);
    if (!pins) {
        g_string_append(out, "(none)");
    }
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        if (pins & (1u << i)) {
            g_string_append_printf(out, "%-2u ", i);
        }
    }
    g_string_append_c(out, '\n');
}

void ioapic_dump(IOAPICState *s, GString *out)
{
    static const char *const modes[8] = {
        "fixed", "lowest", "SMI", "...", "NMI", "INIT", "...", "extINT",
    };
    uint32_t rirr = 0;

    g_string_append_printf(out, "ioapic0: ver=0x%x id=0x%02x sel=0x%02x", s->version, s->id,
                           s->ioregsel);
    if (s->ioregsel >= IOAPIC_REG_REDTBL && s->ioregsel < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        g_string_append_printf(out, " (redir[%u])", (s->ioregsel - IOAPIC_REG_REDTBL) >> 1);
    }
    g_string_append_c(out, '\n');
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        uint64_t e = s->ioredtbl[i];
        g_string_append_printf(out, "  pin %-2u 0x%016" G_GINT64_MODIFIER "x dest=%x vec=%-3u "
                               "%s %-5s %-6s %-6s %s\n", i, e,
                               /* as QEMU: physical shows the 82093AA's 4-bit APIC ID */
                               (unsigned)(e >> IOREDTBL_DEST_SHIFT) &
                               (e & IOREDTBL_DESTMOD ? 0xff : 0x0f),
                               (unsigned)(e & IOREDTBL_VECTOR),
                               e & IOREDTBL_INTPOL ? "active-lo" : "active-hi",
                               e & IOREDTBL_TRIGGER ? "level" : "edge",
                               e & IOREDTBL_MASK ? "masked" : "",
                               modes[(e & IOREDTBL_DELMOD) >> IOREDTBL_DELMOD_SHIFT],
                               e & IOREDTBL_DESTMOD ? "logical" : "physical");
        if (e & IOREDTBL_RIRR) {
            rirr |= 1u << i;
        }
    }
    ioapic_dump_pins(out, "IRR", s->irr);
    ioapic_dump_pins(out, "Remote IRR", rirr);
}

Irq *ioapic_get_irq(IOAPICState *s, int pin)
{
    return pin >= 0 && pin < IOAPIC_NUM_PINS ? s->inputs[pin] : NULL;
}
