/*
 * "i8042": the PC/AT keyboard controller (Intel 8042 running the IBM keyboard
 * controller firmware), per the IBM PC AT Technical Reference ("Keyboard Controller")
 * and the IBM PS/2 Hardware Interface Technical Reference ("Keyboard and Auxiliary
 * Device Controller"):
 *   port 0x60  data: output buffer (read), input buffer (write: device data or the
 *              parameter of a controller command)
 *   port 0x64  status register (read), controller command (write)
 *   commands   20 read command byte, 60 write command byte, A7/A8 disable/enable aux,
 *              A9 aux interface test (00), AA self test (55), AB keyboard interface
 *              test (00), AD/AE disable/enable keyboard, C0 read input port, D0/D1
 *              read/write output port, D2/D3 write keyboard/aux output buffer, D4
 *              write to aux device, DD/DF A20 off/on,
 *              F0-FF pulse output port bits (bit 0 low = reset the system; FE)
 *   command byte  bit 0 keyboard IRQ 1, bit 1 aux IRQ 12, bit 2 system flag, bit 4
 *              disable keyboard, bit 5 disable aux, bit 6 translate set 2 -> set 1
 *   output port bit 0 system reset (active low), bit 1 A20 gate, bits 4/5 OBF/aux OBF
 * The devices are the PS/2 keyboard and mouse of hw/input/ps2.c.  Bytes move from a
 * device queue into the single output buffer only when it is empty; controller
 * replies take precedence, then the keyboard, then the mouse.
 */
#include <string.h>

#include "hw/input/i8042.h"
#include "hw/isa.h"
#include "hw/qdev.h"
#include "system/runstate.h"

#define KBD_STAT_OBF      0x01
#define KBD_STAT_IBF      0x02
#define KBD_STAT_SELFTEST 0x04 /* system flag */
#define KBD_STAT_CMD      0x08 /* command/data; QEMU leaves it set, and so do we */
#define KBD_STAT_UNLOCKED 0x10 /* keyboard not inhibited by the key lock */
#define KBD_STAT_MOUSE_OBF 0x20
#define KBD_STAT_GTO      0x40
#define KBD_STAT_PERR     0x80

#define KBD_MODE_KBD_INT     0x01
#define KBD_MODE_MOUSE_INT   0x02
#define KBD_MODE_SYS         0x04
#define KBD_MODE_NO_KEYLOCK  0x08
#define KBD_MODE_DISABLE_KBD 0x10
#define KBD_MODE_DISABLE_MOUSE 0x20
#define KBD_MODE_KCC         0x40 /* translate scan codes to set 1 */

#define KBD_CCMD_READ_MODE   0x20
#define KBD_CCMD_WRITE_MODE  0x60
#define KBD_CCMD_MOUSE_DISABLE 0xa7
#define KBD_CCMD_MOUSE_ENABLE 0xa8
#define KBD_CCMD_TEST_MOUSE  0xa9
#define KBD_CCMD_SELF_TEST   0xaa
#define KBD_CCMD_KBD_TEST    0xab
#define KBD_CCMD_KBD_DISABLE 0xad
#define KBD_CCMD_KBD_ENABLE  0xae
#define KBD_CCMD_READ_INPORT 0xc0
#define KBD_CCMD_READ_OUTPORT 0xd0
#define KBD_CCMD_WRITE_OUTPORT 0xd1
#define KBD_CCMD_WRITE_OBUF  0xd2
#define KBD_CCMD_WRITE_AUX_OBUF 0xd3
#define KBD_CCMD_WRITE_MOUSE 0xd4
#define KBD_CCMD_DISABLE_A20 0xdd
#define KBD_CCMD_ENABLE_A20  0xdf
#define KBD_CCMD_PULSE_BASE  0xf0

#define KBD_OUT_RESET     0x01 /* active low */
#define KBD_OUT_A20       0x02
#define KBD_OUT_OBF       0x10
#define KBD_OUT_MOUSE_OBF 0x20
#define KBD_OUT_ONES      0xcc

/* Output buffer source.  As in QEMU, the source is chosen when OBF is set and the byte
 * is taken from it when the host reads the data port, so a controller reply issued
 * while OBF is already set for another controller reply replaces it. */
#define OBSRC_NONE 0
#define OBSRC_CTRL 1
#define OBSRC_KBD  2
#define OBSRC_AUX  3

typedef struct I8042State {
    ISADevice parent;
    uint8_t status;
    uint8_t mode;               /* command byte (controller RAM byte 0) */
    uint8_t ram[32];            /* controller RAM 0x20-0x3f / 0x60-0x7f, [0] unused */
    uint8_t outport;
    uint8_t write_cmd;          /* controller command awaiting its data byte, or 0 */
    uint8_t obdata;             /* last byte read from the output buffer */
    uint8_t obsrc;              /* who fills the output buffer while OBF is set */
    bool ctrl_pending;          /* controller reply waiting for the output buffer */
    uint8_t ctrl_byte;
    bool ctrl_aux;
    bool xlate_break;           /* translation saw F0: next code gets bit 7 */
    PS2KbdState kbd;
    PS2MouseState mouse;
    /* properties */
    uint8_t kbd_irq_num;
    uint8_t mouse_irq_num;
    bool extended_state;
    bool kbd_throttle;
    /* wiring */
    Irq *irq_kbd;
    Irq *irq_mouse;
    Irq *a20_out;
    int irq_kbd_level, irq_mouse_level;
    MemoryRegion io_data;
    MemoryRegion io_cmd;
} I8042State;

void i8042_connect_a20(DeviceState *dev, Irq *a20)
{
    ((I8042State *)dev)->a20_out = a20;
}

PS2KbdState *i8042_get_keyboard(DeviceState *dev)
{
    return &((I8042State *)dev)->kbd;
}

PS2MouseState *i8042_get_mouse(DeviceState *dev)
{
    return &((I8042State *)dev)->mouse;
}

static void i8042_update_irq(I8042State *s)
{
    int kbd = 0, mouse = 0;

    if (s->status & KBD_STAT_OBF) {
        if (s->status & KBD_STAT_MOUSE_OBF) {
            mouse = !!(s->mode & KBD_MODE_MOUSE_INT);
        } else {
            /* As QEMU: no IRQ 1 while the keyboard interface is disabled. */
            kbd = (s->mode & KBD_MODE_KBD_INT) && !(s->mode & KBD_MODE_DISABLE_KBD);
        }
    }
    if (kbd != s->irq_kbd_level) {
        s->irq_kbd_level = kbd;
        irq_set(s->irq_kbd, kbd);
    }
    if (mouse != s->irq_mouse_level) {
        s->irq_mouse_level = mouse;
        irq_set(s->irq_mouse, mouse);
    }
}

/* Next keyboard byte as the host sees it (translated to set 1 if KCC). */
static int i8042_fetch_kbd(I8042State *s)
{
    while (!ps2_queue_empty(&s->kbd.common)) {
        uint8_t b = ps2_read_data(&s->kbd.common);
        if (!(s->mode & KBD_MODE_KCC)) {
            return b;
        }
        if (b == 0xf0) {
            s->xlate_break = true;
            continue;
        }
        uint8_t t = b < 0x80 ? ps2_set2_to_set1[b] : (b == 0x83 ? 0x41 : b);
        if (s->xlate_break) {
            s->xlate_break = false;
            if (t < 0x80) {
                t |= 0x80;
            }
        }
        return t;
    }
    /* The reply was dropped meanwhile: the device repeats its previous byte. */
    return ps2_read_data(&s->kbd.common);
}

/* Keyboard data waiting for the output buffer, after translation (a pending F0 alone,
 * consumed by the translation, is not data). */
static bool i8042_kbd_pending(I8042State *s)
{
    PS2Queue *q = &s->kbd.common.queue;

    if (q->count == 0) {
        return false;
    }
    if (!(s->mode & KBD_MODE_KCC) || q->count > 1) {
        return true;
    }
    return q->data[q->rptr] != 0xf0;
}

/* Set OBF (and aux OBF) for the next source if the output buffer is empty. */
static void i8042_update(void *opaque)
{
    I8042State *s = opaque;

    if (!(s->status & KBD_STAT_OBF)) {
        s->obsrc = OBSRC_NONE;
        if (s->ctrl_pending) {
            s->obsrc = OBSRC_CTRL;
            if (s->ctrl_aux) {
                s->status |= KBD_STAT_MOUSE_OBF;
            }
        } else if (!(s->mode & KBD_MODE_DISABLE_KBD) && i8042_kbd_pending(s)) {
            s->obsrc = OBSRC_KBD;
        } else if (!(s->mode & KBD_MODE_DISABLE_MOUSE) &&
                   !ps2_queue_empty(&s->mouse.common)) {
            s->obsrc = OBSRC_AUX;
            s->status |= KBD_STAT_MOUSE_OBF;
        }
        if (s->obsrc != OBSRC_NONE) {
            s->status |= KBD_STAT_OBF;
        }
    }
    i8042_update_irq(s);
}

/* Host read of the output buffer: take the byte from the latched source. */
static uint8_t i8042_take_output(I8042State *s)
{
    int b = -1;

    switch (s->obsrc) {
    case OBSRC_CTRL:
        b = s->ctrl_byte;
        s->ctrl_pending = false;
        break;
    case OBSRC_KBD:
        b = i8042_fetch_kbd(s);
        break;
    case OBSRC_AUX:
        b = ps2_read_data(&s->mouse.common);
        break;
    }
    if (b >= 0) {
        s->obdata = (uint8_t)b;
    }
    s->obsrc = OBSRC_NONE;
    s->status &= ~(KBD_STAT_OBF | KBD_STAT_MOUSE_OBF);
    return s->obdata;
}

static void i8042_ctrl_reply(I8042State *s, uint8_t b, bool aux)
{
    s->ctrl_pending = true;
    s->ctrl_byte = b;
    s->ctrl_aux = aux;
}

static void i8042_set_a20(I8042State *s, bool on)
{
    s->outport = on ? (s->outport | KBD_OUT_A20) : (s->outport & ~KBD_OUT_A20);
    irq_set(s->a20_out, on);
}

static void i8042_write_outport(I8042State *s, uint8_t val)
{
    s->outport = val;
    irq_set(s->a20_out, !!(val & KBD_OUT_A20));
    if (!(val & KBD_OUT_RESET)) {
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static uint8_t i8042_read_outport(I8042State *s)
{
    uint8_t v = s->outport & ~(KBD_OUT_OBF | KBD_OUT_MOUSE_OBF);

    if (s->status & KBD_STAT_OBF) {
        v |= (s->status & KBD_STAT_MOUSE_OBF) ? KBD_OUT_MOUSE_OBF : KBD_OUT_OBF;
    }
    return v;
}

static void i8042_write_command(I8042State *s, uint8_t val)
{
    if (val >= 0x20 && val <= 0x3f) {
        i8042_ctrl_reply(s, val == KBD_CCMD_READ_MODE ? s->mode : s->ram[val & 0x1f], false);
    } else if (val >= 0x60 && val <= 0x7f) {
        s->write_cmd = val;
    } else if (val >= KBD_CCMD_PULSE_BASE) {
        /* Pulse the output port bits whose mask bit is 0; bit 0 is the reset line. */
        if (!(val & 0x01)) {
            system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        }
    } else {
        switch (val) {
        case KBD_CCMD_MOUSE_DISABLE:
            s->mode |= KBD_MODE_DISABLE_MOUSE;
            break;
        case KBD_CCMD_MOUSE_ENABLE:
            s->mode &= ~KBD_MODE_DISABLE_MOUSE;
            break;
        case KBD_CCMD_TEST_MOUSE:
        case KBD_CCMD_KBD_TEST:
            i8042_ctrl_reply(s, 0x00, false); /* no error on the clock/data lines */
            break;
        case KBD_CCMD_SELF_TEST:
            s->status |= KBD_STAT_SELFTEST;
            i8042_ctrl_reply(s, 0x55, false);
            break;
        case KBD_CCMD_KBD_DISABLE:
            s->mode |= KBD_MODE_DISABLE_KBD;
            break;
        case KBD_CCMD_KBD_ENABLE:
            s->mode &= ~KBD_MODE_DISABLE_KBD;
            break;
        case KBD_CCMD_READ_INPORT:
            i8042_ctrl_reply(s, 0x80, false); /* bit 7: keyboard not inhibited */
            break;
        case KBD_CCMD_READ_OUTPORT:
            i8042_ctrl_reply(s, i8042_read_outport(s), false);
            break;
        case KBD_CCMD_WRITE_OUTPORT:
        case KBD_CCMD_WRITE_OBUF:
        case KBD_CCMD_WRITE_AUX_OBUF:
        case KBD_CCMD_WRITE_MOUSE:
            s->write_cmd = val;
            break;
        case KBD_CCMD_DISABLE_A20:
            i8042_set_a20(s, false);
            break;
        case KBD_CCMD_ENABLE_A20:
            i8042_set_a20(s, true);
            break;
        default:
            break; /* unknown controller commands are ignored */
        }
    }
    i8042_update(s);
}

static void i8042_write_data(I8042State *s, uint8_t val)
{
    uint8_t cmd = s->write_cmd;

    s->write_cmd = 0;
    if (cmd == KBD_CCMD_WRITE_MODE) {
        s->mode = val;
    } else if (cmd > KBD_CCMD_WRITE_MODE && cmd <= 0x7f) {
        s->ram[cmd & 0x1f] = val;
    } else {
        switch (cmd) {
        case 0:
            ps2_write_keyboard(&s->kbd, val);
            /* Sending data to the keyboard enables its interface again (as QEMU). */
            s->mode &= ~KBD_MODE_DISABLE_KBD;
            break;
        case KBD_CCMD_WRITE_OUTPORT:
            i8042_write_outport(s, val);
            break;
        case KBD_CCMD_WRITE_OBUF:
            i8042_ctrl_reply(s, val, false);
            break;
        case KBD_CCMD_WRITE_AUX_OBUF:
            i8042_ctrl_reply(s, val, true);
            break;
        case KBD_CCMD_WRITE_MOUSE:
            ps2_write_mouse(&s->mouse, val);
            s->mode &= ~KBD_MODE_DISABLE_MOUSE;
            break;
        }
    }
    i8042_update(s);
}

static uint64_t i8042_data_read(void *opaque, hwaddr addr, unsigned size)
{
    I8042State *s = opaque;
    uint8_t val = s->obdata;

    if (s->status & KBD_STAT_OBF) {
        val = i8042_take_output(s);
        i8042_update(s);
    }
    return val;
}

static void i8042_data_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    i8042_write_data(opaque, (uint8_t)val);
}

static uint64_t i8042_status_read(void *opaque, hwaddr addr, unsigned size)
{
    I8042State *s = opaque;

    return s->status;
}

static void i8042_cmd_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    i8042_write_command(opaque, (uint8_t)val);
}

static const MemoryRegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .valid_min = 1,
    .valid_max = 1,
};

static const MemoryRegionOps i8042_cmd_ops = {
    .read = i8042_status_read,
    .write = i8042_cmd_write,
    .valid_min = 1,
    .valid_max = 1,
};

static void i8042_reset(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    s->mode = KBD_MODE_KBD_INT | KBD_MODE_MOUSE_INT;
    s->status = KBD_STAT_CMD | KBD_STAT_UNLOCKED;
    s->outport = KBD_OUT_RESET | KBD_OUT_A20 | KBD_OUT_ONES;
    s->write_cmd = 0;
    s->obdata = 0;
    s->obsrc = OBSRC_NONE;
    s->ctrl_pending = false;
    s->xlate_break = false;
    memset(s->ram, 0, sizeof(s->ram));
    ps2_kbd_reset(&s->kbd);
    ps2_mouse_reset(&s->mouse);
    irq_set(s->a20_out, 1);
    s->irq_kbd_level = s->irq_mouse_level = -1;
    i8042_update_irq(s);
}

static void i8042_realize(DeviceState *dev, Error **errp)
{
    I8042State *s = (I8042State *)dev;

    if (s->kbd_irq_num >= ISA_NUM_IRQS || s->mouse_irq_num >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"kbd-irq\"/\"mouse-irq\" is: %u",
                   ISA_NUM_IRQS - 1);
        return;
    }
    s->irq_kbd = isa_get_irq(s->kbd_irq_num);
    s->irq_mouse = isa_get_irq(s->mouse_irq_num);
    ps2_kbd_init(&s->kbd, i8042_update, s);
    ps2_mouse_init(&s->mouse, i8042_update, s);
    memory_region_init_io(&s->io_data, &i8042_data_ops, s, "i8042-data", 1);
    memory_region_init_io(&s->io_cmd, &i8042_cmd_ops, s, "i8042-cmd", 1);
    isa_register_ioport(&s->io_data, 0x60);
    isa_register_ioport(&s->io_cmd, 0x64);
    i8042_reset(dev);
}

static void i8042_unrealize(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    isa_unregister_ioport(&s->io_data);
    isa_unregister_ioport(&s->io_cmd);
    ps2_release(&s->kbd, &s->mouse);
}

static int i8042_post_load(void *opaque, int version_id)
{
    I8042State *s = opaque;
    PS2Queue *q[2] = { &s->kbd.common.queue, &s->mouse.common.queue };

    for (int i = 0; i < 2; i++) {
        if (q[i]->rptr >= PS2_QUEUE_SIZE || q[i]->count > PS2_QUEUE_SIZE ||
            q[i]->ccount > q[i]->count) {
            return -1;
        }
    }
    if (s->obsrc > OBSRC_AUX) {
        return -1;
    }
    s->irq_kbd_level = s->irq_mouse_level = -1;
    irq_set(s->a20_out, !!(s->outport & KBD_OUT_A20));
    i8042_update_irq(s);
    return 0;
}

static const VMStateField vmstate_i8042_fields[] = {
    VMSTATE_UINT8(status, I8042State),
    VMSTATE_UINT8(mode, I8042State),
    VMSTATE_BUFFER(ram, I8042State),
    VMSTATE_UINT8(outport, I8042State),
    VMSTATE_UINT8(write_cmd, I8042State),
    VMSTATE_UINT8(obdata, I8042State),
    VMSTATE_UINT8(obsrc, I8042State),
    VMSTATE_BOOL(ctrl_pending, I8042State),
    VMSTATE_UINT8(ctrl_byte, I8042State),
    VMSTATE_BOOL(ctrl_aux, I8042State),
    VMSTATE_BOOL(xlate_break, I8042State),
    VMSTATE_STRUCT(kbd, I8042State, vmstate_ps2_keyboard, PS2KbdState),
    VMSTATE_STRUCT(mouse, I8042State, vmstate_ps2_mouse, PS2MouseState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_i8042 = {
    .name = "pckbd",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = i8042_post_load,
    .fields = vmstate_i8042_fields,
};

static const Property i8042_props[] = {
    DEFINE_PROP_UINT8("kbd-irq", I8042State, kbd_irq_num, 1),
    DEFINE_PROP_UINT8("mouse-irq", I8042State, mouse_irq_num, 12),
    DEFINE_PROP_BOOL("extended-state", I8042State, extended_state, true),
    DEFINE_PROP_BOOL("kbd-throttle", I8042State, kbd_throttle, false),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass i8042_class = {
    .name = "i8042",
    .instance_size = sizeof(I8042State),
    .category = DEVICE_CATEGORY_INPUT,
    .user_creatable = true,
    .bus_type = "isa",
    .props = i8042_props,
    .realize = i8042_realize,
    .unrealize = i8042_unrealize,
    .reset = i8042_reset,
    .vmsd = &vmstate_i8042,
};

DEVICE_TYPE_REGISTER(i8042_class)
