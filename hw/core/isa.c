/* ISA bus: fixed I/O ports and the 16 legacy IRQ lines (see include/hw/isa.h). */
#include "hw/isa.h"

#include <glib.h>

static BusState isa_bus;
static Irq *isa_irqs[ISA_NUM_IRQS];

void isa_bus_init(Irq **irqs)
{
    bus_init(&isa_bus, "isa", "isa.0", NULL);
    bus_register(&isa_bus);
    for (int i = 0; i < ISA_NUM_IRQS; i++) {
        isa_irqs[i] = irqs ? irqs[i] : NULL;
    }
}

BusState *isa_bus_get(void)
{
    return &isa_bus;
}

Irq *isa_get_irq(int isairq)
{
    if (isairq < 0 || isairq >= ISA_NUM_IRQS) {
        return NULL;
    }
    return isa_irqs[isairq];
}

void isa_register_ioport(MemoryRegion *mr, uint16_t port)
{
    memory_region_add_subregion(get_system_io(), port, mr);
}

void isa_unregister_ioport(MemoryRegion *mr)
{
    memory_region_del_subregion(get_system_io(), mr);
}
