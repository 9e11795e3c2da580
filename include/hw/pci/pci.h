/*
 * PCI bus and devices (PCI Local Bus Specification 3.0 ch. 6, configuration
 * space): a bus of 256 device/functions with 256-byte configuration spaces,
 * base address registers mapped through memory regions, INTx lines routed by
 * the host bridge's map_irq/set_irq hooks.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include <stdint.h>

#include "hw/irq.h"
#include "kemu/bswap.h"
#include "hw/qdev.h"
#include "system/memory.h"

#define PCI_CONFIG_SPACE_SIZE 256
#define PCI_NUM_REGIONS 7
#define PCI_ROM_SLOT 6

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define  PCI_COMMAND_IO 0x1
#define  PCI_COMMAND_MEMORY 0x2
#define  PCI_COMMAND_MASTER 0x4
#define  PCI_COMMAND_PARITY 0x40
#define  PCI_COMMAND_SERR 0x100
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define  PCI_STATUS_INTERRUPT 0x08
#define  PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e
#define  PCI_HEADER_TYPE_MULTI_FUNCTION 0x80
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_BASE_ADDRESS_SPACE_IO 0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08

#define PCI_DEVFN(slot, fn) ((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn) & 0x07)

typedef struct PCIBus PCIBus;
typedef struct PCIDevice PCIDevice;

typedef struct PCIIORegion {
    uint64_t size;         /* 0 = unused */
    uint8_t type;          /* PCI_BASE_ADDRESS_* flags */
    MemoryRegion *mr;
    uint64_t addr;         /* currently mapped address, or PCI_BAR_UNMAPPED */
} PCIIORegion;
#define PCI_BAR_UNMAPPED (~0ull)

struct PCIDevice {
    DeviceState qdev;
    PCIBus *bus;
    int32_t devfn;
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];    /* writable bits */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];  /* write-1-to-clear bits */
    PCIIORegion io_regions[PCI_NUM_REGIONS];
    int irq_level;                          /* INTx asserted by the device */
    int irq_asserted;                       /* level currently reported to the bus */
    bool multifunction;
};

typedef struct PCIDeviceClass {
    DeviceClass parent;
    uint16_t vendor_id, device_id;
    uint8_t revision;
    uint16_t class_id;
    uint8_t prog_if;
    uint16_t subsystem_vendor_id, subsystem_id;
    uint8_t header_type;
    void (*realize)(PCIDevice *dev, Error **errp);
    void (*exit)(PCIDevice *dev);
    uint32_t (*config_read)(PCIDevice *dev, uint32_t addr, unsigned len);
    void (*config_write)(PCIDevice *dev, uint32_t addr, uint32_t val, unsigned len);
} PCIDeviceClass;

#define PCI_DEVICE_GET_CLASS(dev) ((const PCIDeviceClass *)(((DeviceState *)(dev))->type))

struct PCIBus {
    BusState qbus;
    PCIDevice *devices[256];
    MemoryRegion *address_space_mem;
    MemoryRegion *address_space_io;
    /* INTx routing: device pin (0..3 = INTA..INTD) -> bus IRQ number */
    int (*map_irq)(PCIDevice *dev, int pin);
    void (*set_irq)(void *opaque, int irq_num, int level);
    void *irq_opaque;
    int irq_count[4];
};

PCIBus *pci_root_bus_new(const char *name, MemoryRegion *mem, MemoryRegion *io);
PCIBus *pci_bus_get(void);
void pci_bus_irqs(PCIBus *bus, void (*set_irq)(void *, int, int),
                  int (*map_irq)(PCIDevice *, int), void *opaque);
PCIDevice *pci_find_device(PCIBus *bus, int devfn);

/* Config space accessors as seen by the CPU (mechanism #1). */
uint32_t pci_config_read(PCIBus *bus, uint32_t bdf_reg, unsigned len);
void pci_config_write(PCIBus *bus, uint32_t bdf_reg, uint32_t val, unsigned len);
/* Default config handlers, for device overrides to chain to. */
uint32_t pci_default_read_config(PCIDevice *d, uint32_t addr, unsigned len);
void pci_default_write_config(PCIDevice *d, uint32_t addr, uint32_t val, unsigned len);

void pci_register_bar(PCIDevice *d, int n, uint8_t type, MemoryRegion *mr);
void pci_set_irq(PCIDevice *d, int level);
/* Create and realize a device at devfn (-1: first free slot). */
PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *type, Error **errp);

/* Configuration space is little-endian. */
#define pci_set_word stw_le_p
#define pci_set_long stl_le_p
#define pci_get_word lduw_le_p
#define pci_get_long ldl_le_p

#endif
