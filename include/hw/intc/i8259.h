/*
 * Two cascaded Intel 8259A programmable interrupt controllers as on the PC/AT
 * (master at 0x20/0x21, slave at 0xa0/0xa1 on the master's IR2) with the PIIX
 * edge/level control registers (ELCR) at 0x4d0/0x4d1.  See hw/intc/i8259.c.
 *
 * Board wiring: ISA IRQ n -> i8259_get_irq(s, n); the master's INT output drives the
 * `intr` line given to i8259_init (a CPU's INTR pin, or every LAPIC's LINT0 via
 * apic_deliver_pic_intr).  The CPU side runs the INTA cycle with pic_read_irq().  All calls
 * with the BQL held.
 */
#ifndef HW_INTC_I8259_H
#define HW_INTC_I8259_H

#include <stdbool.h>

#include <glib.h>

#include "hw/irq.h"
#include "kemu/error.h"

#define TYPE_I8259 "i8259"

typedef struct PICState PICState;

/* Create and realize the PIC pair and map its ports.  `intr` (may be NULL, set later with
 * i8259_set_intr) follows the master's INT output. */
PICState *i8259_init(Irq *intr, Error **errp);
void i8259_set_intr(PICState *s, Irq *intr);
/* The 16 ISA IRQ inputs (IRQ 2 is the cascade and is ignored, as on the PC/AT). */
Irq *i8259_get_irq(PICState *s, int isa_irq);
/* The INTA cycle: the vector of the highest-priority request (ISR/IRR updated), or the
 * IRQ7/IRQ15 spurious vector when nothing is pending any more. */
int pic_read_irq(PICState *s);
/* Level of the master's INT output (what LINT0 sees). */
bool pic_get_output(PICState *s);
/* HMP `info pic` lines for the pair, in QEMU 7.2's format (slave "pic1" first, as QEMU). */
void i8259_dump(PICState *s, GString *out);

#endif
