/*
 * "port92": System Control Port A at I/O 0x92, as introduced by IBM PS/2 and kept by
 * every PC chipset (e.g. Intel 82371AB PIIX4 datasheet: "Port 92h", and the IBM PS/2
 * Hardware Interface Technical Reference):
 *   bit 0  ALT_RST: a 0 -> 1 transition resets the processor (a fast reset)
 *   bit 1  ALT_A20: A20 gate (1 = A20 enabled)
 *   other bits are read back as written (as QEMU does).
 * Not user-creatable (the PC machine creates it), like QEMU's port92.
 */
#include "hw/isa.h"
#include "hw/misc/port92.h"
#include "hw/qdev.h"
#include "system/runstate.h"

#define PORT92_ALT_RST 0x01
#define PORT92_ALT_A20 0x02

typedef struct Port92State {
    ISADevice parent;
    uint8_t outport;
    Irq *a20_out;
    MemoryRegion io;
} Port92State;

void port92_connect_a20(DeviceState *dev, Irq *a20)
{
    ((Port92State *)dev)->a20_out = a20;
}

static uint64_t port92_read(void *opaque, hwaddr addr, unsigned size)
{
    Port92State *s = opaque;

    return s->outport;
}

static void port92_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    Port92State *s = opaque;
    uint8_t old = s->outport;

    s->outport = (uint8_t)val;
    irq_set(s->a20_out, !!(s->outport & PORT92_ALT_A20));
    if ((s->outport & PORT92_ALT_RST) && !(old & PORT92_ALT_RST)) {
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static const MemoryRegionOps port92_ops = {
    .read = port92_read,
    .write = port92_write,
    .valid_min = 1,
    .valid_max = 1,
};

static void port92_realize(DeviceState *dev, Error **errp)
{
    Port92State *s = (Port92State *)dev;

    memory_region_init_io(&s->io, &port92_ops, s, "port92", 1);
    isa_register_ioport(&s->io, 0x92);
}

static void port92_unrealize(DeviceState *dev)
{
    isa_unregister_ioport(&((Port92State *)dev)->io);
}

static void port92_reset(DeviceState *dev)
{
    Port92State *s = (Port92State *)dev;

    /* The reset bit is self-clearing across the reset it triggers. */
    s->outport &= ~PORT92_ALT_RST;
}

static const VMStateField vmstate_port92_fields[] = {
    VMSTATE_UINT8(outport, Port92State),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_port92 = {
    .name = "port92",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_port92_fields,
};

static const Property port92_props[] = {
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass port92_class = {
    .name = "port92",
    .instance_size = sizeof(Port92State),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .bus_type = "isa",
    .props = port92_props,
    .realize = port92_realize,
    .unrealize = port92_unrealize,
    .reset = port92_reset,
    .vmsd = &vmstate_port92,
};

DEVICE_TYPE_REGISTER(port92_class)
