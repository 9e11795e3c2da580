/*
 * "isa-serial": the 16550A UART (hw/char/serial.c) on the ISA bus, at the IBM PC
 * COM port addresses.  Properties and defaults follow QEMU's isa-serial:
 * index 0..3 selects COM1..COM4 (0x3f8/IRQ4, 0x2f8/IRQ3, 0x3e8/IRQ4, 0x2e8/IRQ3);
 * iobase/irq override the index's defaults; a device created without index takes
 * the next free one.
 */
#include "hw/char/serial.h"
#include "hw/isa.h"
#include "hw/qdev.h"

#define MAX_ISA_SERIAL_PORTS 4

typedef struct ISASerialState {
    ISADevice parent;
    uint32_t index;
    uint32_t iobase;
    uint32_t isairq;
    bool wakeup;
    SerialState state;
} ISASerialState;

static const uint16_t isa_serial_io[MAX_ISA_SERIAL_PORTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const uint8_t isa_serial_irq[MAX_ISA_SERIAL_PORTS] = { 4, 3, 4, 3 };
static uint32_t isa_serial_next_index;

static void isa_serial_realize(DeviceState *dev, Error **errp)
{
    ISASerialState *isa = (ISASerialState *)dev;
    SerialState *s = &isa->state;

    if (isa->index == UINT32_MAX) {
        isa->index = isa_serial_next_index;
    }
    if (isa->index >= MAX_ISA_SERIAL_PORTS) {
        error_setg(errp, "Max. supported number of ISA serial ports is %d.",
                   MAX_ISA_SERIAL_PORTS);
        return;
    }
    if (isa->iobase == UINT32_MAX) {
        isa->iobase = isa_serial_io[isa->index];
    }
    if (isa->isairq == UINT32_MAX) {
        isa->isairq = isa_serial_irq[isa->index];
    }
    if (isa->isairq >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"irq\" is: %u", ISA_NUM_IRQS - 1);
        return;
    }
    if (isa->iobase > 0xfff8) {
        error_setg(errp, "iobase 0x%x out of range", isa->iobase);
        return;
    }
    isa_serial_next_index = isa->index + 1;

    s->irq = isa_get_irq((int)isa->isairq);
    if (!serial_realize_core(s, errp)) {
        return;
    }
    memory_region_init_io(&s->io, &serial_io_ops, s, "serial", 8);
    isa_register_ioport(&s->io, (uint16_t)isa->iobase);
}

static void isa_serial_unrealize(DeviceState *dev)
{
    ISASerialState *isa = (ISASerialState *)dev;

    isa_unregister_ioport(&isa->state.io);
    if (isa->state.fifo_timeout_timer) {
        timer_free(isa->state.fifo_timeout_timer);
        isa->state.fifo_timeout_timer = NULL;
    }
}

static void isa_serial_reset(DeviceState *dev)
{
    serial_reset(&((ISASerialState *)dev)->state);
}

static const Property isa_serial_props[] = {
    DEFINE_PROP_UINT32("index", ISASerialState, index, UINT32_MAX),
    DEFINE_PROP_UINT32("iobase", ISASerialState, iobase, UINT32_MAX),
    DEFINE_PROP_UINT32("irq", ISASerialState, isairq, UINT32_MAX),
    DEFINE_PROP_CHR("chardev", ISASerialState, state.chr),
    DEFINE_PROP_UINT32("baudbase", ISASerialState, state.baudbase, 115200),
    DEFINE_PROP_BOOL("wakeup", ISASerialState, wakeup, false),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateField vmstate_isa_serial_fields[] = {
    VMSTATE_STRUCT(state, ISASerialState, vmstate_serial, SerialState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_isa_serial = {
    .name = "serial",
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = vmstate_isa_serial_fields,
};

static DeviceClass isa_serial_class = {
    .name = "isa-serial",
    .parent = NULL,
    .instance_size = sizeof(ISASerialState),
    .category = DEVICE_CATEGORY_INPUT,
    .user_creatable = true,
    .bus_type = "isa",
    .props = isa_serial_props,
    .realize = isa_serial_realize,
    .unrealize = isa_serial_unrealize,
    .reset = isa_serial_reset,
    .vmsd = &vmstate_isa_serial,
};

DEVICE_TYPE_REGISTER(isa_serial_class)
