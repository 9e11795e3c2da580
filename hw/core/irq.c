/* Interrupt line objects (see include/hw/irq.h). */
#include "hw/irq.h"

#include <glib.h>

Irq *irq_new(IrqHandler handler, void *opaque, int n)
{
    Irq *irq = g_new0(Irq, 1);
    irq->handler = handler;
    irq->opaque = opaque;
    irq->n = n;
    return irq;
}

Irq **irq_allocate(IrqHandler handler, void *opaque, int count)
{
    Irq **irqs = g_new0(Irq *, count);
    for (int i = 0; i < count; i++) {
        irqs[i] = irq_new(handler, opaque, i);
    }
    return irqs;
}

void irq_free(Irq *irq)
{
    g_free(irq);
}
