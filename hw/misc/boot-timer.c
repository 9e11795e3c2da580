/*
 * "isa-boot-timer": boot-time measurement port, after Firecracker's boot timer
 * device (firecracker docs, "Boot time"): when the guest writes the magic byte
 * 123 (0x7b) to the port, kemu prints on stderr
 *
 *     kemu: boot-timer: <ms> ms
 *
 * where <ms> is the host CLOCK_MONOTONIC time elapsed since the process started,
 * in milliseconds with three decimals (microsecond resolution).  "Process start" is
 * taken as the earliest constructor of the kemu binary (before main(), after the
 * dynamic loader), i.e. it excludes the exec and dynamic-linking time, about
 * a millisecond.  CLOCK_MONOTONIC is the clock behind kemu's KEMU_CLOCK_REALTIME.
 *
 * The default port 0x440 is unused on PC/AT-compatible machines (not claimed by
 * any device QEMU's pc/q35 machines model); it is the `iobase` property.  Other
 * values and reads are ignored (reads return 0).  The log line is printed on every
 * magic write, so a guest can mark several instants.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "hw/isa.h"
#include "hw/qdev.h"

#define BOOT_TIMER_MAGIC 123

typedef struct BootTimerState {
    ISADevice parent;
    uint32_t iobase;
    MemoryRegion io;
} BootTimerState;

static int64_t boot_timer_start_ns;

static int64_t boot_timer_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Priority 101: the earliest slot available to applications. */
static void __attribute__((constructor(101))) boot_timer_record_start(void)
{
    boot_timer_start_ns = boot_timer_now_ns();
}

static uint64_t boot_timer_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void boot_timer_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    if ((val & 0xff) != BOOT_TIMER_MAGIC) {
        return;
    }
    int64_t us = (boot_timer_now_ns() - boot_timer_start_ns) / 1000;
    fprintf(stderr, "kemu: boot-timer: %" PRId64 ".%03d ms\n", us / 1000, (int)(us % 1000));
    fflush(stderr);
}

static const MemoryRegionOps boot_timer_ops = {
    .read = boot_timer_read,
    .write = boot_timer_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 1,
};

static void boot_timer_realize(DeviceState *dev, Error **errp)
{
    BootTimerState *s = (BootTimerState *)dev;

    if (s->iobase > 0xffff) {
        error_setg(errp, "isa-boot-timer: iobase 0x%x outside the I/O space", s->iobase);
        return;
    }
    memory_region_init_io(&s->io, &boot_timer_ops, s, "boot-timer", 1);
    isa_register_ioport(&s->io, (uint16_t)s->iobase);
}

static void boot_timer_unrealize(DeviceState *dev)
{
    isa_unregister_ioport(&((BootTimerState *)dev)->io);
}

static void boot_timer_reset(DeviceState *dev)
{
    /* Stateless: the reference instant is the process start, not the VM reset. */
}

static const Property boot_timer_props[] = {
    DEFINE_PROP_UINT32("iobase", BootTimerState, iobase, 0x440),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateField vmstate_boot_timer_fields[] = {
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_boot_timer = {
    .name = "isa-boot-timer",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_boot_timer_fields,
};

static DeviceClass boot_timer_class = {
    .name = "isa-boot-timer",
    .instance_size = sizeof(BootTimerState),
    .desc = "Boot time marker port (write 123 to log the time since start)",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = true,
    .bus_type = "isa",
    .props = boot_timer_props,
    .realize = boot_timer_realize,
    .unrealize = boot_timer_unrealize,
    .reset = boot_timer_reset,
    .vmsd = &vmstate_boot_timer,
};

DEVICE_TYPE_REGISTER(boot_timer_class)
