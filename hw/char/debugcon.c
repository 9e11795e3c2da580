/*
 * "isa-debugcon": the Bochs/QEMU debug console port (Bochs documentation, "port
 * 0xE9 hack"): every byte the guest writes to the port goes to a chardev; a read
 * returns the `readback` value (0xe9 by default) so a guest can detect the port.
 * Properties as QEMU's isa-debugcon: iobase (0xe9), chardev, readback (0xe9).
 */
#include "hw/isa.h"
#include "hw/qdev.h"
#include "system/chardev.h"

typedef struct DebugconState {
    ISADevice parent;
    uint32_t iobase;
    uint32_t readback;
    Chardev *chr;
    CharFrontend fe;
    MemoryRegion io;
} DebugconState;

static uint64_t debugcon_read(void *opaque, hwaddr addr, unsigned size)
{
    DebugconState *s = opaque;

    return s->readback & 0xff;
}

static void debugcon_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    DebugconState *s = opaque;
    uint8_t ch = (uint8_t)val;

    chardev_write_all(s->chr, &ch, 1);
}

static const MemoryRegionOps debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
    .valid_min = 1,
    .valid_max = 1,
};

static int debugcon_can_read(void *opaque)
{
    return 0; /* output only */
}

static void debugcon_realize(DeviceState *dev, Error **errp)
{
    DebugconState *s = (DebugconState *)dev;

    if (s->iobase > 0xffff) {
        error_setg(errp, "isa-debugcon: iobase 0x%x outside the I/O space", s->iobase);
        return;
    }
    if (!s->chr) {
        error_setg(errp, "Can't create debugcon device, empty char device");
        return;
    }
    s->fe.can_read = debugcon_can_read;
    s->fe.opaque = s;
    if (!chardev_attach(s->chr, &s->fe, errp)) {
        return;
    }
    memory_region_init_io(&s->io, &debugcon_ops, s, "debugcon", 1);
    isa_register_ioport(&s->io, (uint16_t)s->iobase);
}

static void debugcon_unrealize(DeviceState *dev)
{
    isa_unregister_ioport(&((DebugconState *)dev)->io);
}

static void debugcon_reset(DeviceState *dev)
{
    /* Stateless. */
}

static const Property debugcon_props[] = {
    DEFINE_PROP_UINT32("iobase", DebugconState, iobase, 0xe9),
    DEFINE_PROP_CHR("chardev", DebugconState, chr),
    DEFINE_PROP_UINT32("readback", DebugconState, readback, 0xe9),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateField vmstate_debugcon_fields[] = {
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_debugcon = {
    .name = "isa-debugcon",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_debugcon_fields,
};

static DeviceClass debugcon_class = {
    .name = "isa-debugcon",
    .instance_size = sizeof(DebugconState),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = true,
    .bus_type = "isa",
    .props = debugcon_props,
    .realize = debugcon_realize,
    .unrealize = debugcon_unrealize,
    .reset = debugcon_reset,
    .vmsd = &vmstate_debugcon,
};

DEVICE_TYPE_REGISTER(debugcon_class)
