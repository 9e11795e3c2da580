/*
 * "isa-pit": Intel 8254 programmable interval timer, per the Intel 8254 datasheet
 * ("8254 Programmable Interval Timer", order 231164):
 *   "Control Word Format"        SC1-SC0 (11 = read-back), RW1-RW0 (00 = counter latch,
 *                                01 LSB, 10 MSB, 11 LSB then MSB), M2-M0, BCD
 *   "Write Operations"           a new control word sets OUT to its initial state and
 *                                waits for a count; a count is loaded when fully written
 *   "Read Operations"            counter latch command, simple read, read-back command
 *                                (latched count and status, status before count)
 *   "Status Byte"                OUTPUT, NULL COUNT, RW1-RW0, M2-M0, BCD
 *   "Mode 0" interrupt on terminal count, "Mode 1" hardware retriggerable one-shot,
 *   "Mode 2" rate generator (OUT low for one CLK when the count reaches 1),
 *   "Mode 3" square wave (OUT high for ceil(N/2), low for floor(N/2)),
 *   "Mode 4" software triggered strobe, "Mode 5" hardware triggered strobe
 *   (OUT low for one CLK at terminal count); "Gate" table: GATE rising edge triggers
 *   modes 1 and 5 and reloads modes 2 and 3, GATE low holds OUT high in modes 2 and 3
 * PC/AT wiring: CLK 1.193182 MHz on every counter, gates 0 and 1 tied high, counter 0's
 * OUT on IRQ 0, gate 2 and the speaker through port 0x61 ("isa-pcspk" below: bit 0 gate 2,
 * bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT2).
 *
 * Time model: counters are computed from the virtual time since the count was loaded, so
 * reads cost nothing and only counter 0 arms a timer, at each OUT transition (a timer that
 * runs late past a one-CLK low pulse still gives IRQ 0 its rising edge).  GATE low holds
 * the count in modes 0 and 4 (QEMU's model keeps counting).  As in QEMU, a count is loaded
 * at once (not at the next CLK), a new count in modes 2 and 3 restarts the period rather
 * than waiting for its end, and the refresh bit toggles on every read of port 0x61 (guests
 * that count refresh toggles to delay then do not spin).
 */
#include "hw/timer/i8254.h"

#include <glib.h>
#include <string.h>

#include "hw/isa.h"
#include "system/memory.h"
#include "system/timer.h"

#define RW_LATCH 0
#define RW_LSB 1
#define RW_MSB 2
#define RW_WORD 3

typedef struct PITChannel {
    uint32_t count;           /* N: 1..0x10000 (binary) or 1..10000 (BCD) */
    int64_t load_time;        /* virtual ns when counting (re)started */
    uint16_t latched_count;
    uint8_t count_latched;    /* RW mode of the pending latched count (0: none) */
    bool status_latched;
    uint8_t status;
    uint8_t rw_mode;
    uint8_t mode;
    bool bcd;
    bool gate;
    bool counting;            /* a count has been written (and, in modes 1/5, triggered) */
    bool suspended;           /* modes 0/4 with GATE low: counting held */
    uint64_t suspended_ticks; /* CLKs counted when the gate went low */
    bool armed;               /* a count has been written */
    bool null_count;
    bool read_msb;            /* RW_WORD: next read/write is the MSB */
    bool write_msb;
    uint8_t write_lsb;
    bool latch_msb;           /* RW_WORD latched read: next byte is the MSB */
} PITChannel;

struct PITState {
    DeviceState parent;
    uint32_t iobase;          /* set by the board (QEMU's property default is -1 too) */
    PITChannel ch[3];
    Irq *irq;
    int32_t irq_level;
    uint64_t next_edge_tick;
    Timer *timer;
    MemoryRegion io;
};

static uint64_t pit_ticks(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((unsigned __int128)ns * PIT_FREQ / NANOSECONDS_PER_SECOND);
}

/* Shortest time in which `ticks` CLKs elapse. */
static int64_t pit_ticks_ns(uint64_t ticks)
{
    return (int64_t)(((unsigned __int128)ticks * NANOSECONDS_PER_SECOND + PIT_FREQ - 1) /
                     PIT_FREQ);
}

/* First virtual ns at which `ticks` CLKs have elapsed since load. */
static int64_t pit_tick_time(const PITChannel *c, uint64_t ticks)
{
    return c->load_time + pit_ticks_ns(ticks);
}

/* CLKs counted since the count was loaded (held while a mode 0/4 gate is low). */
static uint64_t pit_elapsed(const PITChannel *c, int64_t now)
{
    return c->suspended ? c->suspended_ticks : pit_ticks(now - c->load_time);
}

/* OUT after `d` CLKs of counting (datasheet waveforms). */
static int pit_out_at(const PITChannel *c, uint64_t d)
{
    uint64_t n = c->count;

    switch (c->mode) {
    case 0:
    case 1:
        return d >= n;
    case 2:
        return (d % n) != n - 1 || n == 1;
    case 3:
        return (d % n) < (n + 1) / 2;
    default: /* 4, 5 */
        return d != n;
    }
}

/* Tick > d at which OUT changes next, or UINT64_MAX. */
static uint64_t pit_next_transition(const PITChannel *c, uint64_t d)
{
    uint64_t n = c->count, base, p;

    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : UINT64_MAX;
    case 2:
        if (n == 1) {
            return UINT64_MAX;
        }
        base = d - d % n;
        p = d % n;
        return p < n - 1 ? base + n - 1 : base + n;
    case 3:
        if (n == 1) {
            return UINT64_MAX;
        }
        base = d - d % n;
        p = d % n;
        return p < (n + 1) / 2 ? base + (n + 1) / 2 : base + n;
    default:
        if (d < n) {
            return n;
        }
        return d < n + 1 ? n + 1 : UINT64_MAX;
    }
}

int pit_get_out(PITState *s, int channel)
{
    if (channel < 0 || channel > 2) {
        return 0;
    }
    PITChannel *c = &s->ch[channel];
    if (!c->counting) {
        /* Initial OUT after a control word: low in mode 0, high otherwise. */
        return c->mode != 0;
    }
    if ((c->mode == 2 || c->mode == 3) && !c->gate) {
        return 1;
    }
    return pit_out_at(c, pit_elapsed(c, clock_get_ns(KEMU_CLOCK_VIRTUAL)));
}

/* Counting element value now (0x10000 / 10000 read as 0). */
static uint16_t pit_get_count(const PITChannel *c)
{
    uint32_t modulus = c->bcd ? 10000 : 0x10000;
    uint64_t d, v;

    if (!c->counting) {
        v = c->count;
    } else {
        d = pit_elapsed(c, clock_get_ns(KEMU_CLOCK_VIRTUAL));
        switch (c->mode) {
        case 0:
        case 1:
        case 4:
        case 5:
            v = (c->count + modulus - d % modulus) % modulus;
            break;
        case 2:
            v = c->count - d % c->count;
            break;
        default: { /* 3: decrements by two, reloading at each half period */
            uint64_t p = d % c->count, half = (c->count + 1) / 2;
            v = p < half ? c->count - 2 * p : c->count - 2 * (p - half);
            v &= ~1ull;
            break;
        }
        }
    }
    v %= modulus;
    if (c->bcd) {
        v = (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10);
    }
    return (uint16_t)v;
}

static void pit_irq_update(PITState *s)
{
    PITChannel *c = &s->ch[0];
    int64_t now = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    int out = pit_get_out(s, 0);

    if (out != s->irq_level) {
        s->irq_level = out;
        irq_set(s->irq, out);
    }
    timer_del(s->timer);
    if (!c->counting || c->suspended || ((c->mode == 2 || c->mode == 3) && !c->gate)) {
        return;
    }
    uint64_t next = pit_next_transition(c, pit_elapsed(c, now));
    if (next != UINT64_MAX) {
        s->next_edge_tick = next;
        timer_mod(s->timer, pit_tick_time(c, next));
    }
}

/* Drive IRQ 0 for an OUT0 transition; a rising transition is always an edge, even when
 * the falling one before it was missed. */
static void pit_irq_transition(PITState *s, int out)
{
    if (out && s->irq_level == 1) {
        irq_set(s->irq, 0);
    }
    if (out || s->irq_level != 0) {
        irq_set(s->irq, out);
    }
    s->irq_level = out;
}

static void pit_timer_cb(void *opaque)
{
    PITState *s = opaque;
    PITChannel *c = &s->ch[0];
    uint64_t edge = s->next_edge_tick;
    uint64_t now = pit_elapsed(c, clock_get_ns(KEMU_CLOCK_VIRTUAL));

    pit_irq_transition(s, pit_out_at(c, edge));
    uint64_t next = pit_next_transition(c, edge);
    if (next != UINT64_MAX && next <= now && !pit_out_at(c, edge)) {
        /* Running late past the end of a low pulse (one CLK in modes 2 and 4, less than
         * the main loop's latency): give the rising edge now rather than lose it. */
        pit_irq_transition(s, pit_out_at(c, next));
        edge = next;
    }
    next = pit_next_transition(c, MAX(edge, now));
    if (next != UINT64_MAX) {
        s->next_edge_tick = next;
        timer_mod(s->timer, pit_tick_time(c, next));
    }
}

static void pit_load_count(PITState *s, PITChannel *c, uint32_t val)
{
    if (c->bcd) {
        val = ((val >> 12) & 0xf) * 1000 + ((val >> 8) & 0xf) * 100 + ((val >> 4) & 0xf) * 10 +
              (val & 0xf);
        if (val == 0) {
            val = 10000;
        }
    } else if (val == 0) {
        val = 0x10000;
    }
    c->count = val;
    c->null_count = false;
    c->armed = true;
    /* Modes 1 and 5 wait for a GATE trigger. */
    if (c->mode == 1 || c->mode == 5) {
        return;
    }
    c->counting = true;
    c->load_time = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    /* Modes 0 and 4: "GATE = 0 disables counting". */
    c->suspended = (c->mode == 0 || c->mode == 4) && !c->gate;
    c->suspended_ticks = 0;
}

static void pit_latch_count(PITChannel *c)
{
    if (!c->count_latched) {
        c->latched_count = pit_get_count(c);
        c->count_latched = c->rw_mode;
        c->latch_msb = false;
    }
}

static void pit_latch_status(PITState *s, int i)
{
    PITChannel *c = &s->ch[i];

    if (!c->status_latched) {
        c->status = (pit_get_out(s, i) << 7) | (c->null_count << 6) | (c->rw_mode << 4) |
                    (c->mode << 1) | c->bcd;
        c->status_latched = true;
    }
}

static void pit_write_control(PITState *s, uint8_t val)
{
    int sel = val >> 6;

    if (sel == 3) { /* read-back */
        for (int i = 0; i < 3; i++) {
            if (!(val & (2 << i))) {
                continue;
            }
            if (!(val & 0x20)) {
                pit_latch_count(&s->ch[i]);
            }
            if (!(val & 0x10)) {
                pit_latch_status(s, i);
            }
        }
        return;
    }
    PITChannel *c = &s->ch[sel];
    int rw = (val >> 4) & 3;
    if (rw == RW_LATCH) {
        pit_latch_count(c);
        return;
    }
    c->rw_mode = rw;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5) {
        c->mode -= 4;          /* X10 = mode 2, X11 = mode 3 */
    }
    c->bcd = val & 1;
    c->read_msb = c->write_msb = false;
    c->null_count = true;
    c->counting = false;       /* OUT goes to its initial state until a count arrives */
    c->suspended = false;
    c->armed = false;
    if (sel == 0) {
        pit_irq_update(s);
    }
}

static void pit_write_counter(PITState *s, int i, uint8_t val)
{
    PITChannel *c = &s->ch[i];

    switch (c->rw_mode) {
    case RW_LSB:
        pit_load_count(s, c, val);
        break;
    case RW_MSB:
        pit_load_count(s, c, (uint32_t)val << 8);
        break;
    case RW_WORD:
        if (!c->write_msb) {
            c->write_lsb = val;
            c->write_msb = true;
            if (c->mode == 0) {
                c->counting = false;   /* "writing the first byte disables counting" */
            }
        } else {
            c->write_msb = false;
            pit_load_count(s, c, c->write_lsb | (uint32_t)val << 8);
        }
        break;
    default: /* no control word yet */
        return;
    }
    if (i == 0) {
        pit_irq_update(s);
    }
}

static uint8_t pit_read_counter(PITState *s, int i)
{
    PITChannel *c = &s->ch[i];
    uint16_t v;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        v = c->latched_count;
        switch (c->count_latched) {
        case RW_LSB:
            c->count_latched = 0;
            return v & 0xff;
        case RW_MSB:
            c->count_latched = 0;
            return v >> 8;
        default:
            if (!c->latch_msb) {
                c->latch_msb = true;
                return v & 0xff;
            }
            c->count_latched = 0;
            c->latch_msb = false;
            return v >> 8;
        }
    }
    v = pit_get_count(c);
    switch (c->rw_mode) {
    case RW_MSB:
        return v >> 8;
    case RW_WORD:
        c->read_msb = !c->read_msb;
        return c->read_msb ? (v & 0xff) : (v >> 8);
    default: /* RW_LSB, or no control word yet */
        return v & 0xff;
    }
}

static uint64_t pit_ioport_read(void *opaque, hwaddr addr, unsigned size)
{
    PITState *s = opaque;

    addr &= 3;
    if (addr == 3) {
        return 0;      /* the control word register is write-only; reads 0 as in QEMU */
    }
    return pit_read_counter(s, addr);
}

static void pit_ioport_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PITState *s = opaque;

    addr &= 3;
    if (addr == 3) {
        pit_write_control(s, val);
    } else {
        pit_write_counter(s, addr, val);
    }
}

static const MemoryRegionOps pit_ops = {
    .read = pit_ioport_read,
    .write = pit_ioport_write,
    .valid_min = 1,
    .valid_max = 1,
};

void pit_set_gate(PITState *s, int channel, int level)
{
    if (channel < 0 || channel > 2) {
        return;
    }
    PITChannel *c = &s->ch[channel];
    bool rising = level && !c->gate;
    bool falling = !level && c->gate;
    int64_t now = clock_get_ns(KEMU_CLOCK_VIRTUAL);

    if ((c->mode == 0 || c->mode == 4) && c->counting) {
        if (falling) {
            c->suspended_ticks = pit_elapsed(c, now);
            c->suspended = true;
        } else if (rising && c->suspended) {
            c->load_time = now - pit_ticks_ns(c->suspended_ticks);
            c->suspended = false;
        }
    }
    c->gate = level;
    if (rising && c->armed) {
        switch (c->mode) {
        case 1:
        case 2:
        case 3:
        case 5:
            c->counting = true;
            c->load_time = now;
            break;
        default:
            break;
        }
    }
    if (channel == 0) {
        pit_irq_update(s);
    }
}

int pit_get_gate(PITState *s, int channel)
{
    return channel >= 0 && channel <= 2 ? s->ch[channel].gate : 0;
}

static void pit_realize(DeviceState *dev, Error **errp)
{
    PITState *s = (PITState *)dev;

    if (s->iobase > 0xfffc) {
        error_setg(errp, "isa-pit: property 'iobase' must be set to an I/O port (0x40 on a PC)");
        return;
    }
    s->timer = timer_new_ns(KEMU_CLOCK_VIRTUAL, pit_timer_cb, s);
    memory_region_init_io(&s->io, &pit_ops, s, "pit", 4);
    isa_register_ioport(&s->io, s->iobase);
}

static void pit_unrealize(DeviceState *dev)
{
    PITState *s = (PITState *)dev;

    isa_unregister_ioport(&s->io);
    timer_free(s->timer);
}

/* Reset: what QEMU's PC shows before firmware runs: each counter in mode 3 with a count
 * of 0x10000 (read-back status 0x86 on counters with a high gate and 0x86 on counter 2,
 * whose OUT stays high while the gate is low); gates 0 and 1 high, gate 2 low. */
static void pit_reset(DeviceState *dev)
{
    PITState *s = (PITState *)dev;

    for (int i = 0; i < 3; i++) {
        PITChannel *c = &s->ch[i];
        memset(c, 0, sizeof(*c));
        c->mode = 3;
        c->gate = i != 2;
        c->count = 0x10000;
        c->armed = true;
        c->counting = true;
        c->load_time = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    }
    /* OUT0 starts high without an edge: the interrupt controllers reset their input state
     * too, and QEMU's PC shows no IRQ0 request in the 8259 after reset. */
    s->irq_level = pit_get_out(s, 0);
    pit_irq_update(s);
}

static int pit_post_load(void *opaque, int version_id)
{
    PITState *s = opaque;

    for (int i = 0; i < 3; i++) {
        PITChannel *c = &s->ch[i];
        uint32_t max = c->bcd ? 10000 : 0x10000;
        c->mode = c->mode > 5 ? c->mode - 4 : c->mode;
        c->rw_mode &= 3;
        c->count_latched &= 3;
        if (c->count == 0 || c->count > max) {
            c->count = max;
        }
    }
    s->irq_level = -1;
    pit_irq_update(s);
    return 0;
}

static const VMStateField vmstate_pit_channel_fields[] = {
    VMSTATE_UINT32(count, PITChannel),
    VMSTATE_INT64(load_time, PITChannel),
    VMSTATE_UINT16(latched_count, PITChannel),
    VMSTATE_UINT8(count_latched, PITChannel),
    VMSTATE_BOOL(status_latched, PITChannel),
    VMSTATE_UINT8(status, PITChannel),
    VMSTATE_UINT8(rw_mode, PITChannel),
    VMSTATE_UINT8(mode, PITChannel),
    VMSTATE_BOOL(bcd, PITChannel),
    VMSTATE_BOOL(gate, PITChannel),
    VMSTATE_BOOL(counting, PITChannel),
    VMSTATE_BOOL(suspended, PITChannel),
    VMSTATE_UINT64(suspended_ticks, PITChannel),
    VMSTATE_BOOL(armed, PITChannel),
    VMSTATE_BOOL(null_count, PITChannel),
    VMSTATE_BOOL(read_msb, PITChannel),
    VMSTATE_BOOL(write_msb, PITChannel),
    VMSTATE_UINT8(write_lsb, PITChannel),
    VMSTATE_BOOL(latch_msb, PITChannel),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_pit_channel = {
    .name = "i8254-channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_pit_channel_fields,
};

static const VMStateField vmstate_pit_fields[] = {
    VMSTATE_STRUCT(ch[0], PITState, vmstate_pit_channel, PITChannel),
    VMSTATE_STRUCT(ch[1], PITState, vmstate_pit_channel, PITChannel),
    VMSTATE_STRUCT(ch[2], PITState, vmstate_pit_channel, PITChannel),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_pit = {
    .name = "i8254",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pit_post_load,
    .fields = vmstate_pit_fields,
};

static const Property pit_props[] = {
    DEFINE_PROP_UINT32("iobase", PITState, iobase, 0xffffffff),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass pit_class = {
    .name = TYPE_ISA_PIT,
    .instance_size = sizeof(PITState),
    .desc = "Intel 8254 PIT",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .bus_type = "isa",
    .props = pit_props,
    .realize = pit_realize,
    .unrealize = pit_unrealize,
    .reset = pit_reset,
    .vmsd = &vmstate_pit,
};

DEVICE_TYPE_REGISTER(pit_class)

PITState *pit_init(uint16_t iobase, Irq *irq, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_ISA_PIT, errp);

    if (!dev) {
        return NULL;
    }
    PITState *s = (PITState *)dev;
    s->iobase = iobase;
    s->irq = irq;
    if (!qdev_realize(dev, isa_bus_get(), errp)) {
        g_free(dev);
        return NULL;
    }
    pit_reset(dev);
    return s;
}

/* -- port 0x61 ----------------------------------------------------------------------- */

typedef struct PCSpkState {
    DeviceState parent;
    uint32_t iobase;
    PITState *pit;
    bool data_on;             /* bit 1: speaker data enable */
    bool refresh;             /* bit 4 */
    MemoryRegion io;
} PCSpkState;

static uint64_t pcspk_read(void *opaque, hwaddr addr, unsigned size)
{
    PCSpkState *s = opaque;

    s->refresh = !s->refresh;
    if (!s->pit) {
        return (s->data_on << 1) | (s->refresh << 4);
    }
    return pit_get_gate(s->pit, 2) | (s->data_on << 1) | (s->refresh << 4) |
           (pit_get_out(s->pit, 2) << 5);
}

static void pcspk_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PCSpkState *s = opaque;

    s->data_on = val & 2;
    if (s->pit) {
        pit_set_gate(s->pit, 2, val & 1);
    }
}

static const MemoryRegionOps pcspk_ops = {
    .read = pcspk_read,
    .write = pcspk_write,
    .valid_min = 1,
    .valid_max = 1,
};

static void pcspk_realize(DeviceState *dev, Error **errp)
{
    PCSpkState *s = (PCSpkState *)dev;

    if (s->iobase > 0xffff) {
        error_setg(errp, "isa-pcspk: 'iobase' 0x%x is not an I/O port", s->iobase);
        return;
    }
    memory_region_init_io(&s->io, &pcspk_ops, s, "pcspk", 1);
    isa_register_ioport(&s->io, s->iobase);
}

static void pcspk_unrealize(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    isa_unregister_ioport(&s->io);
}

static void pcspk_reset(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    s->data_on = false;
    s->refresh = false;
}

static const VMStateField vmstate_pcspk_fields[] = {
    VMSTATE_BOOL(data_on, PCSpkState),
    VMSTATE_BOOL(refresh, PCSpkState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_pcspk = {
    .name = "pcspk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_pcspk_fields,
};

static const Property pcspk_props[] = {
    DEFINE_PROP_UINT32("iobase", PCSpkState, iobase, 0x61),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass pcspk_class = {
    .name = TYPE_ISA_PCSPK,
    .instance_size = sizeof(PCSpkState),
    .desc = "PC speaker / port 0x61 (gate 2, OUT2, refresh)",
    .category = DEVICE_CATEGORY_SOUND,
    .user_creatable = false,
    .bus_type = "isa",
    .props = pcspk_props,
    .realize = pcspk_realize,
    .unrealize = pcspk_unrealize,
    .reset = pcspk_reset,
    .vmsd = &vmstate_pcspk,
};

DEVICE_TYPE_REGISTER(pcspk_class)

DeviceState *pcspk_init(PITState *pit, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_ISA_PCSPK, errp);

    if (!dev) {
        return NULL;
    }
    ((PCSpkState *)dev)->pit = pit;
    if (!qdev_realize(dev, isa_bus_get(), errp)) {
        g_free(dev);
        return NULL;
    }
    pcspk_reset(dev);
    return dev;
}
