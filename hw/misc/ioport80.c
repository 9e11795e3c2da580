/*
 * "ioport80": the POST diagnostic port 0x80.  Firmware writes progress codes there
 * and Linux uses it for I/O delays (outb to 0x80 as a ~1us delay), so it must be
 * claimed and cheap.  Writes are ignored; reads return all-ones, as on QEMU's pc
 * machine (observed: `inb 0x80` -> 0xff, `inl 0x80` -> 0xffffffff).
 * Not user-creatable; the PC machine creates it.
 */
#include "hw/isa.h"
#include "hw/qdev.h"

typedef struct IOPort80State {
    ISADevice parent;
    MemoryRegion io;
} IOPort80State;

static uint64_t ioport80_read(void *opaque, hwaddr addr, unsigned size)
{
    return UINT64_MAX;
}

static void ioport80_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
}

static const MemoryRegionOps ioport80_ops = {
    .read = ioport80_read,
    .write = ioport80_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 4,
};

static void ioport80_realize(DeviceState *dev, Error **errp)
{
    IOPort80State *s = (IOPort80State *)dev;

    memory_region_init_io(&s->io, &ioport80_ops, s, "ioport80", 1);
    isa_register_ioport(&s->io, 0x80);
}

static void ioport80_unrealize(DeviceState *dev)
{
    isa_unregister_ioport(&((IOPort80State *)dev)->io);
}

static void ioport80_reset(DeviceState *dev)
{
}

static const VMStateField vmstate_ioport80_fields[] = {
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_ioport80 = {
    .name = "ioport80",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_ioport80_fields,
};

static const Property ioport80_props[] = {
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass ioport80_class = {
    .name = "ioport80",
    .instance_size = sizeof(IOPort80State),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .bus_type = "isa",
    .props = ioport80_props,
    .realize = ioport80_realize,
    .unrealize = ioport80_unrealize,
    .reset = ioport80_reset,
    .vmsd = &vmstate_ioport80,
};

DEVICE_TYPE_REGISTER(ioport80_class)
