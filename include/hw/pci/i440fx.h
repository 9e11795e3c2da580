/* i440FX host bridge, PIIX3 ISA bridge and PIIX4 PM function (hw/pci/i440fx.c). */
#ifndef HW_PCI_I440FX_H
#define HW_PCI_I440FX_H

#include "hw/pci/pci.h"

/* Create the host bridge (0xcf8/0xcfc) and its 00:00.0 function; returns bus 0. */
PCIBus *i440fx_init(Error **errp);
/* Give the PIIX4 PM function its ACPI PM register block; a non-zero preset_base
 * programs PMBA/PMREGMISC as firmware would (direct boot). */
void piix4_pm_set_io(PCIDevice *pm, MemoryRegion *pm_io, uint16_t preset_base);
/* Called with each byte written to the APM control port 0xb2. */
void piix4_pm_set_apm_callback(PCIDevice *pm, void (*cb)(void *opaque, uint8_t val),
                               void *opaque);

#endif
