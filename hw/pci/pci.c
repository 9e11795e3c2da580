/*
 * PCI bus core: configuration space with write masks, BAR sizing and mapping
 * (PCI Local Bus Specification 3.0 §6.2.5), INTx routing (§6.2.4 Interrupt
 * Pin/Line) and the generic PCI device type every PCI device derives from.
 */
#include "hw/pci/pci.h"

#include <string.h>
#include <glib.h>

static PCIBus *root_bus;

PCIBus *pci_root_bus_new(const char *name, MemoryRegion *mem, MemoryRegion *io)
{
    PCIBus *bus = g_new0(PCIBus, 1);
    bus_init(&bus->qbus, "pci", name, NULL);
    bus_register(&bus->qbus);
    bus->address_space_mem = mem;
    bus->address_space_io = io;
    if (!root_bus) {
        root_bus = bus;
    }
    return bus;
}

PCIBus *pci_bus_get(void)
{
    return root_bus;
}

void pci_bus_irqs(PCIBus *bus, void (*set_irq)(void *, int, int),
                  int (*map_irq)(PCIDevice *, int), void *opaque)
{
    bus->set_irq = set_irq;
    bus->map_irq = map_irq;
    bus->irq_opaque = opaque;
}

PCIDevice *pci_find_device(PCIBus *bus, int devfn)
{
    return devfn >= 0 && devfn < 256 ? bus->devices[devfn] : NULL;
}

/* ---- BARs ---- */

static uint64_t pci_bar_address(PCIDevice *d, int n)
{
    PCIIORegion *r = &d->io_regions[n];
    int reg = n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * n;
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    uint64_t addr;

    if (r->type & PCI_BASE_ADDRESS_SPACE_IO) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return PCI_BAR_UNMAPPED;
        }
        addr = pci_get_long(d->config + reg) & ~(r->size - 1) & 0xfffc;
        if (addr == 0 || addr + r->size > 0x10000) {
            return PCI_BAR_UNMAPPED;
        }
        return addr;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) {
        return PCI_BAR_UNMAPPED;
    }
    addr = pci_get_long(d->config + reg);
    if (n == PCI_ROM_SLOT) {
        if (!(addr & 1)) {
            return PCI_BAR_UNMAPPED;
        }
        addr &= ~0x7ffull;
    } else {
        addr &= ~0xfull;
        if (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            addr |= (uint64_t)pci_get_long(d->config + reg + 4) << 32;
        }
    }
    addr &= ~(r->size - 1);
    if (addr == 0 || addr + r->size < addr) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void pci_update_mappings(PCIDevice *d)
{
    memory_region_transaction_begin();
    for (int n = 0; n < PCI_NUM_REGIONS; n++) {
        PCIIORegion *r = &d->io_regions[n];
        if (!r->size) {
            continue;
        }
        uint64_t addr = pci_bar_address(d, n);
        if (addr == r->addr) {
            continue;
        }
        MemoryRegion *space = (r->type & PCI_BASE_ADDRESS_SPACE_IO)
                                  ? d->bus->address_space_io : d->bus->address_space_mem;
        if (r->addr != PCI_BAR_UNMAPPED) {
            memory_region_del_subregion(space, r->mr);
        }
        r->addr = addr;
        if (addr != PCI_BAR_UNMAPPED) {
            /* Below RAM/ROM: a BAR placed over RAM must not hide it (priority 1 vs RAM 0
             * would), so BARs use priority 1 only over the PCI hole, as RAM ends there. */
            memory_region_add_subregion_overlap(space, addr, r->mr, 1);
        }
    }
    memory_region_transaction_commit();
}

void pci_register_bar(PCIDevice *d, int n, uint8_t type, MemoryRegion *mr)
{
    uint64_t size = memory_region_size(mr);
    g_assert(n >= 0 && n < PCI_NUM_REGIONS);
    g_assert(size && !(size & (size - 1))); /* BAR sizes are powers of two */
    PCIIORegion *r = &d->io_regions[n];
    r->size = size;
    r->type = type;
    r->mr = mr;
    r->addr = PCI_BAR_UNMAPPED;
    int reg = n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * n;
    uint64_t mask = ~(size - 1);
    if (n == PCI_ROM_SLOT) {
        pci_set_long(d->config + reg, 0);
        pci_set_long(d->wmask + reg, (uint32_t)mask | 1);
    } else {
        pci_set_long(d->config + reg, type);
        pci_set_long(d->wmask + reg, (uint32_t)mask & ((type & 1) ? ~0x3u : ~0xfu));
        if (type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            pci_set_long(d->wmask + reg + 4, (uint32_t)(mask >> 32));
        }
    }
}

/* ---- config space ---- */

uint32_t pci_default_read_config(PCIDevice *d, uint32_t addr, unsigned len)
{
    uint32_t v = 0;
    memcpy(&v, d->config + addr, len);
    return v;
}

void pci_default_write_config(PCIDevice *d, uint32_t addr, uint32_t val, unsigned len)
{
    bool bars_changed = false;
    for (unsigned i = 0; i < len; i++) {
        uint32_t a = addr + i;
        uint8_t b = val >> (8 * i);
        uint8_t wm = d->wmask[a], w1c = d->w1cmask[a];
        d->config[a] = (d->config[a] & ~wm) | (b & wm);
        d->config[a] &= ~(b & w1c);
        if ((a >= PCI_BASE_ADDRESS_0 && a < PCI_BASE_ADDRESS_0 + 24) ||
            (a >= PCI_ROM_ADDRESS && a < PCI_ROM_ADDRESS + 4) ||
            a == PCI_COMMAND || a == PCI_COMMAND + 1) {
            bars_changed = true;
        }
    }
    if (bars_changed) {
        pci_update_mappings(d);
    }
    if (addr <= PCI_COMMAND + 1 && addr + len > PCI_COMMAND + 1) {
        /* INTx disable toggled: re-evaluate the line. */
        pci_set_irq(d, d->irq_level);
    }
}

uint32_t pci_config_read(PCIBus *bus, uint32_t bdf_reg, unsigned len)
{
    int devfn = (bdf_reg >> 8) & 0xff;
    uint32_t addr = bdf_reg & 0xff;
    if ((bdf_reg >> 16) & 0xff) {
        return ~0u >> (32 - 8 * len); /* no secondary buses */
    }
    PCIDevice *d = bus->devices[devfn];
    if (!d || addr + len > PCI_CONFIG_SPACE_SIZE) {
        return ~0u >> (32 - 8 * len);
    }
    const PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(d);
    return pc->config_read ? pc->config_read(d, addr, len) : pci_default_read_config(d, addr, len);
}

void pci_config_write(PCIBus *bus, uint32_t bdf_reg, uint32_t val, unsigned len)
{
    int devfn = (bdf_reg >> 8) & 0xff;
    uint32_t addr = bdf_reg & 0xff;
    if ((bdf_reg >> 16) & 0xff) {
        return;
    }
    PCIDevice *d = bus->devices[devfn];
    if (!d || addr + len > PCI_CONFIG_SPACE_SIZE) {
        return;
    }
    const PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(d);
    if (pc->config_write) {
        pc->config_write(d, addr, val, len);
    } else {
        pci_default_write_config(d, addr, val, len);
    }
}

/* ---- INTx ---- */

void pci_set_irq(PCIDevice *d, int level)
{
    int pin = d->config[PCI_INTERRUPT_PIN];
    bool disabled = pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
    int effective = level && !disabled;

    d->irq_level = level;
    if (level) {
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    } else {
        d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    }
    if (pin < 1 || pin > 4 || !d->bus->map_irq || effective == d->irq_asserted) {
        return;
    }
    int irq = d->bus->map_irq(d, pin - 1);
    if (irq < 0 || irq > 3) {
        return;
    }
    d->irq_asserted = effective;
    d->bus->irq_count[irq] += effective ? 1 : -1;
    d->bus->set_irq(d->bus->irq_opaque, irq, d->bus->irq_count[irq] > 0);
}

/* ---- device life cycle ---- */

static void pci_device_realize(DeviceState *dev, Error **errp)
{
    PCIDevice *d = (PCIDevice *)dev;
    const PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(d);
    PCIBus *bus = (PCIBus *)dev->parent_bus;
    int devfn = d->devfn;

    if (!bus) {
        error_setg(errp, "No 'PCI' bus found for device '%s'", dev->type->name);
        return;
    }
    if (devfn < 0) {
        for (devfn = PCI_DEVFN(1, 0); devfn < 256; devfn += 8) {
            if (!bus->devices[devfn]) {
                break;
            }
        }
        if (devfn >= 256) {
            error_setg(errp, "PCI: no slot/function available for %s, all in use",
                       dev->type->name);
            return;
        }
    } else if (devfn > 255) {
        error_setg(errp, "Property 'addr' out of range");
        return;
    } else if (bus->devices[devfn]) {
        error_setg(errp, "PCI: slot %d function %d not available for %s, in use by %s",
                   PCI_SLOT(devfn), PCI_FUNC(devfn), dev->type->name,
                   bus->devices[devfn]->qdev.type->name);
        return;
    }
    d->bus = bus;
    d->devfn = devfn;
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        d->io_regions[i].addr = PCI_BAR_UNMAPPED;
    }
    pci_set_word(d->config + PCI_VENDOR_ID, pc->vendor_id);
    pci_set_word(d->config + PCI_DEVICE_ID, pc->device_id);
    d->config[PCI_REVISION_ID] = pc->revision;
    d->config[PCI_CLASS_PROG] = pc->prog_if;
    pci_set_word(d->config + PCI_CLASS_DEVICE, pc->class_id);
    d->config[PCI_HEADER_TYPE] = pc->header_type | (d->multifunction ?
                                                    PCI_HEADER_TYPE_MULTI_FUNCTION : 0);
    pci_set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID,
                 pc->subsystem_vendor_id ? pc->subsystem_vendor_id : 0x1af4);
    pci_set_word(d->config + PCI_SUBSYSTEM_ID, pc->subsystem_id ? pc->subsystem_id : 0x1100);
    pci_set_word(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
                                         PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                                         PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    d->w1cmask[PCI_STATUS + 1] = 0xf9; /* error bits are write-1-to-clear */
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    d->wmask[0x0c] = 0xff; /* cache line size */
    d->wmask[0x0d] = 0xff; /* latency timer */
    bus->devices[devfn] = d;
    if (pc->realize) {
        Error *err = NULL;
        pc->realize(d, &err);
        if (err) {
            bus->devices[devfn] = NULL;
            error_propagate(errp, err);
        }
    }
}

static void pci_device_reset(DeviceState *dev)
{
    PCIDevice *d = (PCIDevice *)dev;
    pci_set_irq(d, 0);
    /* Clear the writable parts of the header: command, BARs, interrupt line. */
    for (int a = PCI_COMMAND; a < 0x40; a++) {
        if (a == PCI_INTERRUPT_PIN) {
            continue;
        }
        d->config[a] &= ~d->wmask[a];
    }
    pci_update_mappings(d);
}

static const Property pci_device_props[] = {
    DEFINE_PROP_PCI_DEVFN("addr", PCIDevice, devfn, -1),
    DEFINE_PROP_BOOL("multifunction", PCIDevice, multifunction, false),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass pci_device_type = {
    .name = "pci-device",
    .instance_size = sizeof(PCIDevice),
    .abstract = true,
    .bus_type = "pci",
    .props = pci_device_props,
    .realize = pci_device_realize,
    .reset = pci_device_reset,
};
DEVICE_TYPE_REGISTER(pci_device_type)

PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *type, Error **errp)
{
    DeviceState *dev = qdev_new(type, errp);
    if (!dev) {
        return NULL;
    }
    ((PCIDevice *)dev)->devfn = devfn;
    if (!qdev_realize(dev, &bus->qbus, errp)) {
        return NULL;
    }
    return (PCIDevice *)dev;
}
