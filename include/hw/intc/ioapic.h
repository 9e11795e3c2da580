/*
 * Intel 82093AA I/O APIC in userspace (see hw/intc/ioapic.c), used with
 * kernel-irqchip=off and kernel-irqchip=split.
 *
 * Board wiring: GSI n -> ioapic_get_irq(s, n) (24 pins).  Each interrupt leaves as an
 * MSI-format message through the board's `deliver` callback:
 *   addr = 0xfee00000 | destination << 12 | destination mode << 2
 *   data = vector | delivery mode << 8 | trigger mode << 15
 * (KVM_SIGNAL_MSI under split irqchip, apic_deliver_msi() under kernel-irqchip=off).
 * The local APICs report the EOI of a level-triggered vector with ioapic_eoi_broadcast()
 * (under split irqchip: the accelerator's EOI exits).  All calls with the BQL held.
 */
#ifndef HW_INTC_IOAPIC_H
#define HW_INTC_IOAPIC_H

#include <stdint.h>

#include <glib.h>

#include "hw/irq.h"
#include "kemu/error.h"

#define TYPE_IOAPIC "ioapic"
#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_NUM_PINS 24

typedef struct IOAPICState IOAPICState;
typedef void (*IOAPICDeliverFn)(void *opaque, uint64_t addr, uint32_t data);

/* Create and realize the I/O APIC and map it at IOAPIC_DEFAULT_BASE in system memory. */
IOAPICState *ioapic_init(IOAPICDeliverFn deliver, void *opaque, Error **errp);
Irq *ioapic_get_irq(IOAPICState *s, int pin);
/* A local APIC accepted the EOI of a level-triggered `vector`: clear Remote IRR of the
 * entries with that vector and deliver again those whose line is still asserted. */
void ioapic_eoi_broadcast(IOAPICState *s, int vector);
/* HMP `info pic` lines for the I/O APIC, in QEMU 7.2's format. */
void ioapic_dump(IOAPICState *s, GString *out);

#endif
