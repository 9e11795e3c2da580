/*
 * Accelerator interface.  An accelerator runs vCPUs and may provide an
 * in-kernel interrupt controller.  Nothing here knows a device type; nothing
 * under hw/ calls an accelerator's internals except through these hooks.
 */
#ifndef SYSTEM_ACCEL_H
#define SYSTEM_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kemu/error.h"
#include "kemu/option.h"
#include "system/memory.h"

typedef struct MachineState MachineState;
typedef struct X86CPU X86CPU;

typedef enum IrqchipMode {
    IRQCHIP_ON,     /* PIC, IOAPIC, LAPIC (and PIT) in the accelerator */
    IRQCHIP_SPLIT,  /* LAPIC in the accelerator, PIC/IOAPIC in userspace */
    IRQCHIP_OFF,    /* everything in userspace */
} IrqchipMode;

typedef struct AccelClass {
    const char *name;
    bool (*available)(void);
    /* Called once before the machine builds its board; `opts` are -accel options. */
    bool (*init)(MachineState *ms, const Opts *opts, Error **errp);
    /* Called after the board exists (memory laid out), before vCPUs start. */
    bool (*init_vcpu)(X86CPU *cpu, Error **errp);
    /* Run the vCPU until it must return to the generic loop: returns false if it
     * stopped because of an exit request (kick), or a fatal error was reported. Called
     * without the BQL. */
    bool (*vcpu_exec)(X86CPU *cpu);
    void (*vcpu_kick)(X86CPU *cpu);
    /* Push cpu->env into the vCPU (reset, loader). Called with the vCPU not running. */
    void (*vcpu_put_state)(X86CPU *cpu);
    void (*vcpu_destroy)(X86CPU *cpu);
    /* Interrupt controller capabilities. */
    bool (*irqchip_in_kernel)(void);   /* PIC + IOAPIC + LAPICs */
    bool (*lapic_in_kernel)(void);     /* LAPICs (also true with split irqchip) */
    void (*set_irq)(int gsi, int level);
    void (*send_msi)(uint64_t addr, uint32_t data);
    /* eventfd plumbing for devices (via hw/core/ioeventfd.c helpers): 0 or -errno */
    int (*add_ioeventfd)(int fd, uint64_t addr, unsigned size, bool match, uint64_t data,
                         bool pio);
    int (*del_ioeventfd)(int fd, uint64_t addr, unsigned size, bool match, uint64_t data,
                         bool pio);
    int (*add_irqfd)(int fd, int gsi);
    int (*del_irqfd)(int fd, int gsi);
    /* MSI routes give an MSI message a GSI number for irqfd: returns gsi or -errno. */
    int (*add_msi_route)(uint64_t addr, uint32_t data);
    int (*update_msi_route)(int gsi, uint64_t addr, uint32_t data);
    void (*release_msi_route)(int gsi);
    void (*shutdown)(void);
} AccelClass;

/* Split irqchip: the accelerator's LAPIC reports the EOI of a level-triggered IOAPIC vector
 * here (the board forwards it to its I/O APIC). */
void accel_set_ioapic_eoi_handler(void (*fn)(void *opaque, int vector), void *opaque);
void accel_ioapic_eoi(int vector);

void accel_register(const AccelClass *ac);
const AccelClass *accel_find(const char *name);
const AccelClass *current_accel(void);
void accel_set_current(const AccelClass *ac);
extern IrqchipMode accel_irqchip_mode;

#endif
