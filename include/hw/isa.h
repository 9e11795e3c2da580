/*
 * ISA bus: fixed I/O ports in the `io` address space and 16 IRQ lines
 * (wired by the machine to the interrupt controller: ISA IRQ n -> GSI n,
 * except IRQ0 -> GSI 2 in the MADT's interrupt source override).
 */
#ifndef HW_ISA_H
#define HW_ISA_H

#include <stdint.h>

#include "hw/irq.h"
#include "hw/qdev.h"
#include "system/memory.h"

#define ISA_NUM_IRQS 16

typedef struct ISADevice {
    DeviceState parent;
} ISADevice;

/* Set up the ISA bus with the machine's IRQ lines (copied). */
void isa_bus_init(Irq **irqs);
BusState *isa_bus_get(void);
Irq *isa_get_irq(int isairq);
/* Map `mr` at I/O port `port` in the io address space. */
void isa_register_ioport(MemoryRegion *mr, uint16_t port);
void isa_unregister_ioport(MemoryRegion *mr);

#endif
