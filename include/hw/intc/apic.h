/*
 * Local xAPIC in userspace, one per CPU (see hw/intc/apic.c), for kernel-irqchip=off and
 * the software CPU.
 *
 * CPU side (the vCPU loop / TCG, with the BQL held):
 *   apic_create(cpu, apic_id)          sets cpu->apic; pass &apic_cpu_irq_ops as cpu->irq_ops
 *   apic_get_interrupt(s)              vector to inject now (IRR -> ISR, or the PIC's INTA
 *                                      for ExtINT), -1 if none may be taken
 *   apic_has_interrupt(s)              whether apic_get_interrupt would return a vector
 *   apic_set_tpr / apic_get_tpr        TPR (= CR8 << 4)
 *   apic_set_base / apic_get_base      IA32_APIC_BASE MSR
 *   apic_set_tsc_deadline / apic_get_tsc_deadline   IA32_TSC_DEADLINE MSR; the CPU side
 *                                      converts the TSC value into a virtual-clock time
 *   apic_init_reset(s)                 INIT reset (ID and base kept); done by the APIC
 *                                      itself when it accepts an INIT message
 * Board side:
 *   apic_set_board_ops(ops)            who to tell about requests (APICBoardOps below)
 *   apic_deliver_msi(addr, data)       an MSI-format message (from the I/O APIC or a PCI
 *                                      device) to the destination APICs; writes by devices
 *                                      into 0xfee00000-0xfeefffff arrive here as well
 *   apic_deliver_pic_intr(s, level)    the 8259's INT on this APIC's LINT0 (or straight to
 *                                      the CPU while the APIC is hardware-disabled)
 *   apic_deliver_nmi(s)                an NMI on LINT1
 * The APIC calls ops->cpu_interrupt(cpu, CPU_INTERRUPT_*, sipi_vector) when the CPU must
 * look again: HARD (call apic_get_interrupt), NMI, SMI, INIT (the CPU goes to its INIT
 * state: wait-for-SIPI on an AP), SIPI with the start-up vector (start at vector << 12).
 * Every call is made with the BQL held (the APIC calls back into the board with it).
 * MMIO: the register page is mapped at 0xfee00000 (1 MiB, with the MSI window); an access
 * goes to current_cpu()'s APIC, or to the first APIC when current_cpu() is NULL (qtest).
 */
#ifndef HW_INTC_APIC_H
#define HW_INTC_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/i386/cpu.h"
#include "kemu/error.h"

#define TYPE_APIC "apic"
#define APIC_MAX_CPUS 255

typedef struct APICState APICState;

typedef struct APICBoardOps {
    /* Raise CPU_INTERRUPT_* `mask` at cpu (x86_cpu_interrupt() on the pc board). */
    void (*cpu_interrupt)(X86CPU *cpu, int mask, uint8_t sipi_vector);
    /* INTA cycle of the 8259 pair (pic_read_irq) for ExtINT; NULL: no PIC. */
    int (*pic_read_irq)(void *opaque);
    /* EOI of a level-triggered vector to the I/O APIC (ioapic_eoi_broadcast). */
    void (*eoi_broadcast)(void *opaque, int vector);
    void *pic_opaque;
    void *ioapic_opaque;
} APICBoardOps;

void apic_set_board_ops(const APICBoardOps *ops);

APICState *apic_create(X86CPU *cpu, uint32_t apic_id, Error **errp);
APICState *apic_find_by_id(uint8_t apic_id);

int apic_get_interrupt(APICState *s);
bool apic_has_interrupt(APICState *s);
void apic_set_tpr(APICState *s, uint8_t tpr);
uint8_t apic_get_tpr(APICState *s);
void apic_set_base(APICState *s, uint64_t val);
uint64_t apic_get_base(APICState *s);
void apic_set_tsc_deadline(APICState *s, uint64_t value, int64_t expire_ns);
uint64_t apic_get_tsc_deadline(APICState *s);
void apic_init_reset(APICState *s);

void apic_deliver_msi(uint64_t addr, uint32_t data);
void apic_deliver_pic_intr(APICState *s, int level);
void apic_deliver_nmi(APICState *s);

/* X86CPUIrqOps over cpu->apic, for cpu->irq_ops. */
extern const X86CPUIrqOps apic_cpu_irq_ops;

#endif
