/*
 * "isa-debug-exit": a write-only I/O port that ends the emulator, for test kernels.
 * Same contract as QEMU's device of that name (QEMU documentation, "-device
 * isa-debug-exit"): a guest write of value V exits the process with status
 * (V << 1) | 1, so a guest can never produce status 0 by accident.
 * Reads return 0, as on QEMU.
 */
#include "hw/isa.h"
#include "hw/qdev.h"
#include "system/runstate.h"

typedef struct DebugExitState {
    ISADevice parent;
    uint32_t iobase;
    uint32_t iosize;
    MemoryRegion io;
} DebugExitState;

static uint64_t debug_exit_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0; /* as QEMU */
}

static void debug_exit_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    system_exit_request((int)((val << 1) | 1));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .valid_min = 1,
    .valid_max = 4,
};

static void debug_exit_realize(DeviceState *dev, Error **errp)
{
    DebugExitState *s = (DebugExitState *)dev;

    if (s->iosize > 0x10000 || s->iobase > 0xffff || s->iobase + s->iosize > 0x10000) {
        error_setg(errp, "isa-debug-exit: iobase 0x%x + iosize 0x%x outside the I/O space",
                   s->iobase, s->iosize);
        return;
    }
    if (s->iosize == 0) {
        return; /* accepted, as QEMU does: a port of no size is never hit */
    }
    memory_region_init_io(&s->io, &debug_exit_ops, s, "isa-debug-exit", s->iosize);
    isa_register_ioport(&s->io, (uint16_t)s->iobase);
}

static void debug_exit_unrealize(DeviceState *dev)
{
    DebugExitState *s = (DebugExitState *)dev;

    if (s->iosize) {
        isa_unregister_ioport(&s->io);
    }
}

static void debug_exit_reset(DeviceState *dev)
{
    /* Stateless. */
}

static const Property debug_exit_props[] = {
    DEFINE_PROP_UINT32("iobase", DebugExitState, iobase, 0x501),
    DEFINE_PROP_UINT32("iosize", DebugExitState, iosize, 0x02),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateField vmstate_debug_exit_fields[] = {
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_debug_exit = {
    .name = "isa-debug-exit",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_debug_exit_fields,
};

static DeviceClass debug_exit_class = {
    .name = "isa-debug-exit",
    .instance_size = sizeof(DebugExitState),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = true,
    .bus_type = "isa",
    .props = debug_exit_props,
    .realize = debug_exit_realize,
    .unrealize = debug_exit_unrealize,
    .reset = debug_exit_reset,
    .vmsd = &vmstate_debug_exit,
};

DEVICE_TYPE_REGISTER(debug_exit_class)
