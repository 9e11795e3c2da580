/*
 * "i8259": the PC/AT pair of Intel 8259A programmable interrupt controllers, per the
 * Intel 8259A datasheet ("8259A Programmable Interrupt Controller", order 231468):
 *   "Interrupt Sequence"          IRR set by a request, INTA moves the highest-priority
 *                                 request to the ISR and returns the vector
 *   "Initialization Command Words" ICW1 (bit 4 set, on A0=0): resets IMR, ISR, priorities,
 *                                 special mask and the edge-sense latch; ICW2 vector base
 *                                 T7-T3; ICW3 cascade (fixed here: slave on master IR2);
 *                                 ICW4 only when ICW1.IC4: AEOI, SFNM
 *   "Operation Command Words"     OCW1 = IMR; OCW2 (A0=0, bits 4:3 = 00) R/SL/EOI:
 *                                 non-specific / specific EOI, rotate on (non-)specific EOI,
 *                                 rotate in automatic EOI mode, set priority;
 *                                 OCW3 (bits 4:3 = 01): ESMM/SMM, P (poll), RR/RIS
 *   "Fully Nested Mode", "Special Fully Nested Mode", "Automatic Rotation", "Specific
 *   Rotation", "Special Mask Mode", "Poll Command" (W7 = request pending, W2-W0 = level),
 *   "Reading the 8259A Status" (IRR/ISR on A0=0 per OCW3, IMR on A0=1)
 *   "Interrupt sequence outputs"  a request withdrawn before INTA gives IR7 (spurious)
 * Edge/level: the 82371SB PIIX3 datasheet §4.2 "ELCR1/ELCR2" at 0x4d0/0x4d1 select level
 * triggering per IRQ (IRQ0, 1, 2, 8 and 13 are always edge); ICW1.LTIM is ignored, as in
 * the PIIX.  An edge-triggered request stays in the IRR after the line drops (devices
 * pulse their lines), a level-triggered one follows the line.
 */
#include "hw/intc/i8259.h"

#include <glib.h>
#include <string.h>

#include "hw/isa.h"
#include "hw/qdev.h"
#include "system/memory.h"

#define PIC_ELCR_BASE 0x4d0

typedef struct PICChip {
    uint8_t irr;              /* interrupt request register */
    uint8_t isr;              /* in-service register */
    uint8_t imr;              /* interrupt mask register (OCW1) */
    uint8_t line;             /* current level of the IR inputs */
    uint8_t elcr;             /* 1 = level triggered */
    uint8_t elcr_mask;        /* ELCR bits the guest may set */
    uint8_t vector_base;      /* ICW2 T7-T3 */
    uint8_t lowest;           /* IR level with the lowest priority (rotation) */
    uint8_t init_state;       /* 0 ready, 1..3: waiting for ICW2..ICW4 */
    bool ic4;                 /* ICW1: ICW4 follows */
    bool single;              /* ICW1.SNGL: no ICW3 */
    bool read_isr;            /* OCW3 RIS: status read returns ISR, else IRR */
    bool poll;                /* OCW3 P: the next read is a poll */
    bool special_mask;        /* OCW3 SMM */
    bool auto_eoi;            /* ICW4 AEOI */
    bool rotate_auto_eoi;     /* OCW2 R SL EOI = 100 */
    bool sfnm;                /* ICW4 special fully nested mode */
    uint8_t icw4;             /* last ICW4 (uPM, BUF, M/S: kept for status) */
} PICChip;

struct PICState {
    DeviceState parent;
    PICChip chip[2];          /* 0 master, 1 slave */
    bool output;              /* master INT */
    Irq *intr;
    Irq **inputs;
    MemoryRegion io_master, io_slave, io_elcr;
};

/* Priority level (0 = highest) of the first set bit of `mask` in the chip's rotated
 * order, or 8 if none. */
static int pic_priority(const PICChip *c, uint8_t mask)
{
    for (int p = 0; p < 8; p++) {
        if (mask & (1u << ((c->lowest + 1 + p) & 7))) {
            return p;
        }
    }
    return 8;
}

static int pic_level_of(const PICChip *c, int p)
{
    return (c->lowest + 1 + p) & 7;
}

/* The IR level the chip would present at INT now, or -1 ("Fully Nested Mode": only a
 * request of higher priority than everything in service; SMM lifts the ISR bits of
 * masked levels; SFNM lets the cascade input be interrupted by its own slave). */
static int pic_pending(const PICChip *c, bool master)
{
    int req = pic_priority(c, c->irr & ~c->imr);
    if (req == 8) {
        return -1;
    }
    uint8_t in_service = c->isr;
    if (c->special_mask) {
        in_service &= ~c->imr;
    }
    if (master && c->sfnm) {
        in_service &= ~(1u << 2);
    }
    if (req < pic_priority(c, in_service)) {
        return pic_level_of(c, req);
    }
    return -1;
}

static void pic_chip_set_input(PICChip *c, int n, int level)
{
    uint8_t bit = 1u << n;

    if (c->elcr & bit) {
        if (level) {
            c->irr |= bit;
            c->line |= bit;
        } else {
            c->irr &= ~bit;
            c->line &= ~bit;
        }
    } else if (level) {
        if (!(c->line & bit)) {
            c->irr |= bit;
        }
        c->line |= bit;
    } else {
        c->line &= ~bit;
    }
}

static void pic_update(PICState *s)
{
    /* Slave INT drives master IR2 (ICW3 cascade, fixed by the PC/AT wiring). */
    pic_chip_set_input(&s->chip[0], 2, pic_pending(&s->chip[1], false) >= 0);
    bool out = pic_pending(&s->chip[0], true) >= 0;
    if (out != s->output) {
        s->output = out;
        irq_set(s->intr, out);
    }
}

static void pic_set_irq(void *opaque, int n, int level)
{
    PICState *s = opaque;

    if (n < 0 || n >= 16 || n == 2) {
        return;
    }
    pic_chip_set_input(&s->chip[n >> 3], n & 7, level);
    pic_update(s);
}

/* First INTA pulse: the request goes in service; edge requests leave the IRR. */
static void pic_ack(PICChip *c, int irq)
{
    uint8_t bit = 1u << irq;

    if (c->auto_eoi) {
        if (c->rotate_auto_eoi) {
            c->lowest = irq;
        }
    } else {
        c->isr |= bit;
    }
    if (!(c->elcr & bit)) {
        c->irr &= ~bit;
    }
}

int pic_read_irq(PICState *s)
{
    PICChip *m = &s->chip[0], *sl = &s->chip[1];
    int vector;
    int irq = pic_pending(m, true);

    if (irq < 0) {
        vector = m->vector_base + 7;       /* spurious IRQ7: nothing set in the ISR */
    } else if (irq == 2) {
        int irq2 = pic_pending(sl, false);
        pic_ack(m, 2);
        if (irq2 >= 0) {
            pic_ack(sl, irq2);
            vector = sl->vector_base + irq2;
        } else {
            vector = sl->vector_base + 7;  /* spurious IRQ15 (master IR2 stays in service) */
        }
    } else {
        pic_ack(m, irq);
        vector = m->vector_base + irq;
    }
    pic_update(s);
    return vector;
}

bool pic_get_output(PICState *s)
{
    return s->output;
}

/* "Poll Command": acknowledge like INTA and return W7 | level. */
static uint8_t pic_poll(PICState *s, PICChip *c)
{
    int irq = pic_pending(c, c == &s->chip[0]);

    c->poll = false;
    if (irq < 0) {
        return 0;
    }
    pic_ack(c, irq);
    pic_update(s);
    return 0x80 | irq;
}

static void pic_icw1(PICChip *c, uint8_t val)
{
    c->isr = 0;
    c->imr = 0;
    c->irr &= c->elcr;       /* edge-sense latch reset: edges need a new low-to-high */
    c->lowest = 7;           /* IR0 highest */
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->ic4 = val & 0x01;
    c->single = val & 0x02;
    c->init_state = 1;
    /* "If IC4 = 0, all functions selected in ICW4 are set to zero". */
    c->auto_eoi = false;
    c->rotate_auto_eoi = false;
    c->sfnm = false;
    c->icw4 = 0;
}

static void pic_ocw2(PICChip *c, uint8_t val)
{
    int level = val & 7;
    int highest;

    switch (val >> 5) {
    case 0: /* rotate in automatic EOI mode (clear) */
        c->rotate_auto_eoi = false;
        break;
    case 4: /* rotate in automatic EOI mode (set) */
        c->rotate_auto_eoi = true;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        highest = pic_priority(c, c->isr);
        if (highest < 8) {
            int irq = pic_level_of(c, highest);
            c->isr &= ~(1u << irq);
            if (val & 0x80) {
                c->lowest = irq;
            }
        }
        break;
    case 3: /* specific EOI */
        c->isr &= ~(1u << level);
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= ~(1u << level);
        c->lowest = level;
        break;
    case 6: /* set priority: L2-L0 becomes the lowest */
        c->lowest = level;
        break;
    default: /* 2: no operation */
        break;
    }
}

static void pic_chip_write(PICState *s, PICChip *c, hwaddr addr, uint8_t val)
{
    if (addr == 0) {
        if (val & 0x10) {
            pic_icw1(c, val);
        } else if (val & 0x08) { /* OCW3 */
            if (val & 0x04) {
                c->poll = true;
            }
            if (val & 0x02) {
                c->read_isr = val & 0x01;
            }
            if (val & 0x40) {
                c->special_mask = val & 0x20;
            }
        } else {
            pic_ocw2(c, val);
        }
    } else {
        switch (c->init_state) {
        case 1: /* ICW2 */
            c->vector_base = val & 0xf8;
            c->init_state = c->single ? (c->ic4 ? 3 : 0) : 2;
            break;
        case 2: /* ICW3: the cascade is fixed by the board */
            c->init_state = c->ic4 ? 3 : 0;
            break;
        case 3: /* ICW4 */
            c->icw4 = val & 0x1f;
            c->auto_eoi = val & 0x02;
            c->sfnm = val & 0x10;
            c->init_state = 0;
            break;
        default: /* OCW1 */
            c->imr = val;
            break;
        }
    }
    pic_update(s);
}

static uint8_t pic_chip_read(PICState *s, PICChip *c, hwaddr addr)
{
    if (c->poll) {
        return pic_poll(s, c);
    }
    if (addr == 0) {
        return c->read_isr ? c->isr : c->irr;
    }
    return c->imr;
}

static uint64_t pic_master_read(void *opaque, hwaddr addr, unsigned size)
{
    PICState *s = opaque;
    return pic_chip_read(s, &s->chip[0], addr & 1);
}

static void pic_master_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PICState *s = opaque;
    pic_chip_write(s, &s->chip[0], addr & 1, val);
}

static uint64_t pic_slave_read(void *opaque, hwaddr addr, unsigned size)
{
    PICState *s = opaque;
    return pic_chip_read(s, &s->chip[1], addr & 1);
}

static void pic_slave_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PICState *s = opaque;
    pic_chip_write(s, &s->chip[1], addr & 1, val);
}

static uint64_t pic_elcr_read(void *opaque, hwaddr addr, unsigned size)
{
    PICState *s = opaque;
    return s->chip[addr & 1].elcr;
}

static void pic_elcr_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PICState *s = opaque;
    PICChip *c = &s->chip[addr & 1];

    c->elcr = val & c->elcr_mask;
    /* Pins now level triggered follow their line; edge pins keep their latched request. */
    c->irr = (c->irr & ~c->elcr) | (c->line & c->elcr);
    pic_update(s);
}

static const MemoryRegionOps pic_master_ops = {
    .read = pic_master_read,
    .write = pic_master_write,
    .valid_min = 1,
    .valid_max = 1,
};

static const MemoryRegionOps pic_slave_ops = {
    .read = pic_slave_read,
    .write = pic_slave_write,
    .valid_min = 1,
    .valid_max = 1,
};

static const MemoryRegionOps pic_elcr_ops = {
    .read = pic_elcr_read,
    .write = pic_elcr_write,
    .valid_min = 1,
    .valid_max = 1,
};

static void pic_realize(DeviceState *dev, Error **errp)
{
    PICState *s = (PICState *)dev;

    s->inputs = irq_allocate(pic_set_irq, s, 16);
    memory_region_init_io(&s->io_master, &pic_master_ops, s, "pic", 2);
    memory_region_init_io(&s->io_slave, &pic_slave_ops, s, "pic", 2);
    memory_region_init_io(&s->io_elcr, &pic_elcr_ops, s, "elcr", 2);
    isa_register_ioport(&s->io_master, 0x20);
    isa_register_ioport(&s->io_slave, 0xa0);
    isa_register_ioport(&s->io_elcr, PIC_ELCR_BASE);
}

static void pic_unrealize(DeviceState *dev)
{
    PICState *s = (PICState *)dev;

    isa_unregister_ioport(&s->io_master);
    isa_unregister_ioport(&s->io_slave);
    isa_unregister_ioport(&s->io_elcr);
    for (int i = 0; i < 16; i++) {
        irq_free(s->inputs[i]);
    }
    g_free(s->inputs);
}

/* Hardware reset: everything cleared (as QEMU: IMR 0, vector base 0, all edge). */
static void pic_reset(DeviceState *dev)
{
    PICState *s = (PICState *)dev;

    for (int i = 0; i < 2; i++) {
        PICChip *c = &s->chip[i];
        memset(c, 0, sizeof(*c));
        c->lowest = 7;
        /* PIIX3 §4.2: IRQ0, 1, 2 (master) and IRQ8, 13 (slave) are edge only. */
        c->elcr_mask = i == 0 ? 0xf8 : 0xde;
    }
    s->output = false;
    irq_set(s->intr, 0);
}

static int pic_post_load(void *opaque, int version_id)
{
    PICState *s = opaque;

    for (int i = 0; i < 2; i++) {
        s->chip[i].lowest &= 7;
        s->chip[i].init_state = s->chip[i].init_state > 3 ? 0 : s->chip[i].init_state;
        s->chip[i].elcr &= s->chip[i].elcr_mask;
    }
    pic_update(s);
    irq_set(s->intr, s->output);
    return 0;
}

static const VMStateField vmstate_pic_chip_fields[] = {
    VMSTATE_UINT8(irr, PICChip),
    VMSTATE_UINT8(isr, PICChip),
    VMSTATE_UINT8(imr, PICChip),
    VMSTATE_UINT8(line, PICChip),
    VMSTATE_UINT8(elcr, PICChip),
    VMSTATE_UINT8(elcr_mask, PICChip),
    VMSTATE_UINT8(vector_base, PICChip),
    VMSTATE_UINT8(lowest, PICChip),
    VMSTATE_UINT8(init_state, PICChip),
    VMSTATE_BOOL(ic4, PICChip),
    VMSTATE_BOOL(single, PICChip),
    VMSTATE_BOOL(read_isr, PICChip),
    VMSTATE_BOOL(poll, PICChip),
    VMSTATE_BOOL(special_mask, PICChip),
    VMSTATE_BOOL(auto_eoi, PICChip),
    VMSTATE_BOOL(rotate_auto_eoi, PICChip),
    VMSTATE_BOOL(sfnm, PICChip),
    VMSTATE_UINT8(icw4, PICChip),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_pic_chip = {
    .name = "i8259-chip",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_pic_chip_fields,
};

static const VMStateField vmstate_pic_fields[] = {
    VMSTATE_STRUCT(chip[0], PICState, vmstate_pic_chip, PICChip),
    VMSTATE_STRUCT(chip[1], PICState, vmstate_pic_chip, PICChip),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_pic = {
    .name = "i8259",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pic_post_load,
    .fields = vmstate_pic_fields,
};

static DeviceClass pic_class = {
    .name = TYPE_I8259,
    .instance_size = sizeof(PICState),
    .desc = "Intel 8259A PIC pair (master 0x20, slave 0xa0 on IR2, ELCR 0x4d0)",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .realize = pic_realize,
    .unrealize = pic_unrealize,
    .reset = pic_reset,
    .vmsd = &vmstate_pic,
};

DEVICE_TYPE_REGISTER(pic_class)

PICState *i8259_init(Irq *intr, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_I8259, errp);

    if (!dev) {
        return NULL;
    }
    PICState *s = (PICState *)dev;
    s->intr = intr;
    if (!qdev_realize(dev, NULL, errp)) {
        g_free(dev);
        return NULL;
    }
    pic_reset(dev);
    return s;
}

void i8259_set_intr(PICState *s, Irq *intr)
{
    s->intr = intr;
    irq_set(s->intr, s->output);
}

void i8259_dump(PICState *s, GString *out)
{
    for (int i = 1; i >= 0; i--) {
        const PICChip *c = &s->chip[i];
        g_string_append_printf(out, "pic%d: irr=%02x imr=%02x isr=%02x hprio=%d irq_base=%02x "
                               "rr_sel=%d elcr=%02x fnm=%d\n", i, c->irr, c->imr, c->isr,
                               (c->lowest + 1) & 7, c->vector_base, c->read_isr, c->elcr,
                               c->sfnm);
    }
}

Irq *i8259_get_irq(PICState *s, int isa_irq)
{
    return isa_irq >= 0 && isa_irq < 16 ? s->inputs[isa_irq] : NULL;
}
