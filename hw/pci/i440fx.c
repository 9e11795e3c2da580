/*
 * i440FX PCI host bridge and PIIX3/PIIX4 functions of the `pc` machine:
 * configuration mechanism #1 at 0xcf8/0xcfc (PCI Local Bus Spec 3.0 §3.2.2.3.2),
 * the 82441FX PMC (Intel 440FX PCIset datasheet, 8086:1237), the PIIX3 PCI-to-ISA
 * bridge with PIRQ routing registers 0x60-0x63 (Intel 82371SB datasheet §2.2),
 * and the PIIX4 power-management function 00:01.3 (82371AB datasheet §3.3,
 * PMBA at 0x40, PMREGMISC at 0x80) that places the ACPI PM block in I/O space.
 */
#include "hw/pci/i440fx.h"

#include <glib.h>

#include "hw/isa.h"
#include "system/runstate.h"

typedef struct I440FXHost {
    MemoryRegion conf_addr, conf_data;
    uint32_t config_reg;
    PCIBus *bus;
} I440FXHost;

static I440FXHost host;

static uint64_t rcr_read(void *opaque, hwaddr addr, unsigned size);
static void rcr_write(void *opaque, hwaddr addr, uint64_t val, unsigned size);
typedef struct PIIX3State PIIX3State;
static PIIX3State *piix3;

/* 0xcf8 is the 32-bit CONFIG_ADDRESS register; a byte access to 0xcf9 is the
 * PIIX3 reset control register instead, as on real PIIX-based boards. */
static uint64_t conf_addr_read(void *opaque, hwaddr addr, unsigned size)
{
    I440FXHost *s = opaque;
    if (size == 4 && addr == 0) {
        return s->config_reg;
    }
    if (size == 1 && addr == 1 && piix3) {
        return rcr_read(piix3, 0, 1);
    }
    return ~0ull >> (64 - 8 * size);
}

static void conf_addr_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I440FXHost *s = opaque;
    if (size == 4 && addr == 0) {
        s->config_reg = val & 0x80fffffc;
    } else if (size == 1 && addr == 1 && piix3) {
        rcr_write(piix3, 0, val, 1);
    }
}

static const MemoryRegionOps conf_addr_ops = {
    .read = conf_addr_read,
    .write = conf_addr_write,
    .valid_min = 1,
    .valid_max = 4,
};

static uint64_t conf_data_read(void *opaque, hwaddr addr, unsigned size)
{
    I440FXHost *s = opaque;
    if (!(s->config_reg & 0x80000000u)) {
        return ~0ull >> (64 - 8 * size);
    }
    return pci_config_read(s->bus, (s->config_reg & 0x00fffffc) | (addr & 3), size);
}

static void conf_data_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I440FXHost *s = opaque;
    if (s->config_reg & 0x80000000u) {
        pci_config_write(s->bus, (s->config_reg & 0x00fffffc) | (addr & 3), val, size);
    }
}

static const MemoryRegionOps conf_data_ops = {
    .read = conf_data_read,
    .write = conf_data_write,
    .valid_min = 1,
    .valid_max = 4,
    .unaligned = true,
};

/* ---- PIIX3 PIRQ routing ---- */

#define PIIX_PIRQRC 0x60

struct PIIX3State {
    PCIDevice parent;
    uint8_t rcr;    /* reset control register, I/O port 0xcf9 (82371SB §4.1.5) */
};

#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04

static uint64_t rcr_read(void *opaque, hwaddr addr, unsigned size)
{
    PIIX3State *s = opaque;
    return s->rcr;
}

static void rcr_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PIIX3State *s = opaque;
    /* A 0->1 transition of RST_CPU resets; SYS_RST selects hard vs soft reset, which
     * are the same for a virtual machine. */
    if ((val & RCR_RST_CPU) && !(s->rcr & RCR_RST_CPU)) {
        s->rcr = 0;
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return;
    }
    s->rcr = val & RCR_SYS_RST;
}



static int i440fx_map_irq(PCIDevice *d, int pin)
{
    /* INTx of slot N is wired to PIRQ (N - 1 + pin) mod 4 on the 440FX board. */
    return (PCI_SLOT(d->devfn) - 1 + pin) & 3;
}

static void piix3_set_irq(void *opaque, int pirq, int level)
{
    PIIX3State *s = opaque;
    uint8_t route = s->parent.config[PIIX_PIRQRC + pirq];
    if (route & 0x80) {
        return; /* routing disabled */
    }
    int isa = route & 0x0f;
    if (isa < 3 || isa == 8 || isa == 13 || isa > 15) {
        return; /* reserved routing values */
    }
    /* Several PIRQs may share one ISA IRQ: the line is the OR of them. */
    int any = 0;
    for (int p = 0; p < 4; p++) {
        uint8_t r = s->parent.config[PIIX_PIRQRC + p];
        if (!(r & 0x80) && (r & 0x0f) == isa && s->parent.bus->irq_count[p] > 0) {
            any = 1;
        }
    }
    irq_set(isa_get_irq(isa), any || level ? (any ? 1 : level) : 0);
}

static void piix3_realize(PCIDevice *d, Error **errp)
{
    piix3 = (PIIX3State *)d;
    for (int i = 0; i < 4; i++) {
        d->config[PIIX_PIRQRC + i] = 0x80;
        d->wmask[PIIX_PIRQRC + i] = 0x8f;
    }
    pci_bus_irqs(d->bus, piix3_set_irq, i440fx_map_irq, d);
}

static void piix3_reset(DeviceState *dev)
{
    PCIDevice *d = (PCIDevice *)dev;
    for (int i = 0; i < 4; i++) {
        d->config[PIIX_PIRQRC + i] = 0x80;
    }
    ((PIIX3State *)d)->rcr = 0;
}

static PCIDeviceClass piix3_class = {
    .parent = {
        .name = "PIIX3",
        .parent = "pci-device",
        .instance_size = sizeof(PIIX3State),
        .desc = "ISA bridge",
        .category = DEVICE_CATEGORY_BRIDGE,
        .reset = piix3_reset,
    },
    .vendor_id = 0x8086,
    .device_id = 0x7000,
    .class_id = 0x0601,
    .header_type = 0,
    .realize = piix3_realize,
};
DEVICE_TYPE_REGISTER(piix3_class.parent)

/* ---- i440FX PMC (host bridge function 00:00.0) ---- */

static PCIDeviceClass i440fx_class = {
    .parent = {
        .name = "i440FX",
        .parent = "pci-device",
        .instance_size = sizeof(PCIDevice),
        .desc = "Host bridge",
        .category = DEVICE_CATEGORY_BRIDGE,
    },
    .vendor_id = 0x8086,
    .device_id = 0x1237,
    .revision = 0x02,
    .class_id = 0x0600,
};
DEVICE_TYPE_REGISTER(i440fx_class.parent)

/* ---- PIIX4 PM function (00:01.3) ---- */

#define PIIX4_PMBA 0x40
#define PIIX4_PMREGMISC 0x80

typedef struct PIIX4PMState {
    PCIDevice parent;
    MemoryRegion *pm_io;     /* the ACPI PM register block, provided by the board */
    bool mapped;
    uint16_t mapped_base;
    MemoryRegion apm_io;     /* APM control/status ports 0xb2/0xb3 */
    uint8_t apm_cnt, apm_sts;
    void (*apm_cb)(void *opaque, uint8_t val);
    void *apm_opaque;
} PIIX4PMState;

/* APM ports (82371AB §7.3.1): a write to APMC (0xb2) would raise SMI; with no SMM
 * firmware the board's callback implements the ACPI enable/disable handshake. */
static uint64_t apm_read(void *opaque, hwaddr addr, unsigned size)
{
    PIIX4PMState *s = opaque;
    return addr == 0 ? s->apm_cnt : s->apm_sts;
}

static void apm_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PIIX4PMState *s = opaque;
    if (addr == 0) {
        s->apm_cnt = val;
        if (s->apm_cb) {
            s->apm_cb(s->apm_opaque, val);
        }
    } else {
        s->apm_sts = val;
    }
}

static const MemoryRegionOps apm_ops = {
    .read = apm_read,
    .write = apm_write,
    .valid_min = 1,
    .valid_max = 1,
};

void piix4_pm_set_apm_callback(PCIDevice *d, void (*cb)(void *opaque, uint8_t val), void *opaque)
{
    PIIX4PMState *s = (PIIX4PMState *)d;
    s->apm_cb = cb;
    s->apm_opaque = opaque;
}

static void piix4_pm_update_io(PIIX4PMState *s)
{
    PCIDevice *d = &s->parent;
    uint16_t base = pci_get_word(d->config + PIIX4_PMBA) & 0xffc0;
    bool enable = d->config[PIIX4_PMREGMISC] & 1;
    if (!s->pm_io) {
        return;
    }
    if (s->mapped && (!enable || base != s->mapped_base)) {
        memory_region_del_subregion(get_system_io(), s->pm_io);
        s->mapped = false;
    }
    if (enable && base && !s->mapped) {
        memory_region_add_subregion(get_system_io(), base, s->pm_io);
        s->mapped = true;
        s->mapped_base = base;
    }
}

static void piix4_pm_config_write(PCIDevice *d, uint32_t addr, uint32_t val, unsigned len)
{
    pci_default_write_config(d, addr, val, len);
    if ((addr < PIIX4_PMBA + 4 && addr + len > PIIX4_PMBA) ||
        (addr <= PIIX4_PMREGMISC && addr + len > PIIX4_PMREGMISC)) {
        piix4_pm_update_io((PIIX4PMState *)d);
    }
}

static void piix4_pm_realize(PCIDevice *d, Error **errp)
{
    PIIX4PMState *s = (PIIX4PMState *)d;
    memory_region_init_io(&s->apm_io, &apm_ops, s, "apm-io", 2);
    memory_region_add_subregion(get_system_io(), 0xb2, &s->apm_io);
    d->config[PCI_INTERRUPT_PIN] = 1;
    pci_set_long(d->config + PIIX4_PMBA, 1); /* I/O space indicator */
    pci_set_long(d->wmask + PIIX4_PMBA, 0xffc0);
    d->wmask[PIIX4_PMREGMISC] = 1;
}

void piix4_pm_set_io(PCIDevice *d, MemoryRegion *pm_io, uint16_t preset_base)
{
    PIIX4PMState *s = (PIIX4PMState *)d;
    s->pm_io = pm_io;
    /* Without firmware nobody programs PMBA: preset it as SeaBIOS would. */
    if (preset_base) {
        pci_set_long(d->config + PIIX4_PMBA, preset_base | 1);
        d->config[PIIX4_PMREGMISC] = 1;
    }
    piix4_pm_update_io(s);
}

static PCIDeviceClass piix4_pm_class = {
    .parent = {
        .name = "PIIX4_PM",
        .parent = "pci-device",
        .instance_size = sizeof(PIIX4PMState),
        .desc = "PM",
        .category = DEVICE_CATEGORY_BRIDGE,
    },
    .vendor_id = 0x8086,
    .device_id = 0x7113,
    .revision = 0x03,
    .class_id = 0x0680,
    .realize = piix4_pm_realize,
    .config_write = piix4_pm_config_write,
};
DEVICE_TYPE_REGISTER(piix4_pm_class.parent)

PCIBus *i440fx_init(Error **errp)
{
    host.bus = pci_root_bus_new("pci.0", get_system_memory(), get_system_io());
    memory_region_init_io(&host.conf_addr, &conf_addr_ops, &host, "pci-conf-idx", 4);
    memory_region_init_io(&host.conf_data, &conf_data_ops, &host, "pci-conf-data", 4);
    memory_region_add_subregion(get_system_io(), 0xcf8, &host.conf_addr);
    memory_region_add_subregion(get_system_io(), 0xcfc, &host.conf_data);
    if (!pci_create_simple(host.bus, PCI_DEVFN(0, 0), "i440FX", errp)) {
        return NULL;
    }
    return host.bus;
}
