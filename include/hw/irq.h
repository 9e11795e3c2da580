/*
 * Interrupt lines.  A device raises and lowers an Irq without knowing what is
 * behind it: the machine wires it to the in-kernel irqchip (KVM), to the
 * userspace PIC/IOAPIC (TCG), or to the qtest interceptor.
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H

#include <stdbool.h>

typedef void (*IrqHandler)(void *opaque, int n, int level);

typedef struct Irq {
    IrqHandler handler;
    void *opaque;
    int n;
} Irq;

/* Allocate `count` lines numbered 0..count-1 sharing one handler. */
Irq **irq_allocate(IrqHandler handler, void *opaque, int count);
Irq *irq_new(IrqHandler handler, void *opaque, int n);
void irq_free(Irq *irq);

static inline void irq_set(Irq *irq, int level)
{
    if (irq) {
        irq->handler(irq->opaque, irq->n, level);
    }
}

static inline void irq_raise(Irq *irq)
{
    irq_set(irq, 1);
}

static inline void irq_lower(Irq *irq)
{
    irq_set(irq, 0);
}

static inline void irq_pulse(Irq *irq)
{
    irq_set(irq, 1);
    irq_set(irq, 0);
}

#endif
