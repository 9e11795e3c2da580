/*
 * Machines: a machine type composes devices into a board (pc, q35).  The
 * MachineState holds what the command line asked for.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include <stdbool.h>
#include <stdint.h>

#include "kemu/error.h"
#include "kemu/option.h"
#include "system/accel.h"
#include "system/memory.h"
#include "hw/i386/cpu.h"

typedef struct MachineClass MachineClass;

typedef struct CpuTopology {
    unsigned cpus, sockets, dies, cores, threads, maxcpus;
} CpuTopology;

typedef struct MachineState {
    const MachineClass *mc;
    uint64_t ram_size;
    CpuTopology smp;
    char *kernel_filename;
    char *initrd_filename;
    char *kernel_cmdline;
    char *firmware;
    char *name;
    uint8_t uuid[16];
    bool has_uuid;
    bool no_reboot;
    bool no_shutdown;
    bool nodefaults;
    bool acpi;                 /* -machine acpi=on|off */
    const char *cpu_model;
    const AccelClass *accel;
    IrqchipMode irqchip;
    X86CPU **cpus;
    MemoryRegion ram;
    void *board;               /* machine-specific state */
} MachineState;

struct MachineClass {
    const char *name;
    const char *alias;
    const char *desc;
    bool is_default;
    unsigned max_cpus;
    uint64_t default_ram_size;
    bool (*init)(MachineState *ms, Error **errp);
    /* After -device and -serial devices exist: load boot images, build ACPI/fw_cfg. */
    bool (*done)(MachineState *ms, Error **errp);
    void (*reset)(MachineState *ms);
    /* Host-requested power button press (system_powerdown). */
    void (*powerdown)(MachineState *ms);
};

void machine_register(const MachineClass *mc);
#define MACHINE_REGISTER(mc) \
    static void __attribute__((constructor)) mc##_register_(void) \
    { \
        machine_register(&(mc)); \
    }
const MachineClass *machine_find(const char *name);
const MachineClass *machine_default(void);
void machine_print_list(void);
MachineState *current_machine(void);
void machine_set_current(MachineState *ms);

#endif
