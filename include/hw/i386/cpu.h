/*
 * x86 vCPU state as the machine and loaders see it: the architectural
 * registers (Intel SDM Vol. 3A §2 and §3.4), independent of the accelerator.
 * The accelerator loads it into the real vCPU at reset and may save it back.
 */
#ifndef HW_I386_CPU_H
#define HW_I386_CPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
enum { R_ES, R_CS, R_SS, R_DS, R_FS, R_GS };

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define MSR_IA32_APICBASE_BSP (1u << 8)
#define MSR_IA32_APICBASE_ENABLE (1u << 11)
#define APIC_DEFAULT_BASE 0xfee00000u

/* A segment register with its hidden descriptor cache (SDM Vol. 3A §3.4.3). */
typedef struct SegmentCache {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;   /* byte-granular limit (already scaled if G=1) */
    uint8_t type;     /* 4-bit type field */
    uint8_t s, dpl, present, db, l, g, avl;
} SegmentCache;

typedef struct DescTable {
    uint64_t base;
    uint16_t limit;
} DescTable;

typedef enum CPUMPState {
    CPU_MP_RUNNABLE,
    CPU_MP_WAIT_SIPI,   /* AP after INIT: waits for a startup IPI */
    CPU_MP_HALTED,
} CPUMPState;

typedef struct CPUX86State {
    uint64_t regs[16];
    uint64_t rip;
    uint64_t rflags;
    SegmentCache segs[6];
    SegmentCache ldt, tr;
    DescTable gdt, idt;
    uint64_t cr[5];
    uint64_t efer;
    uint64_t apic_base;
    uint64_t xcr0;
    CPUMPState mp_state;
} CPUX86State;

typedef struct MachineState MachineState;
typedef struct X86CPU X86CPU;

/* Interrupt requests raised at a CPU by its (userspace) local APIC or the board. */
#define CPU_INTERRUPT_HARD 0x1   /* a maskable interrupt is pending at the APIC/PIC */
#define CPU_INTERRUPT_NMI 0x2
#define CPU_INTERRUPT_INIT 0x4
#define CPU_INTERRUPT_SIPI 0x8
#define CPU_INTERRUPT_SMI 0x10

/* How the CPU side asks its userspace interrupt controller for vectors.  Set by the board
 * when the LAPIC is emulated in userspace; NULL when the accelerator has its own. */
typedef struct X86CPUIrqOps {
    /* Vector to deliver now (IRR -> ISR), or -1. */
    int (*get_interrupt)(X86CPU *cpu);
    bool (*has_interrupt)(X86CPU *cpu);
    void (*set_tpr)(X86CPU *cpu, uint8_t tpr);   /* CR8 << 4 */
    uint8_t (*get_tpr)(X86CPU *cpu);
    void (*set_apic_base)(X86CPU *cpu, uint64_t val);
    uint64_t (*get_apic_base)(X86CPU *cpu);
} X86CPUIrqOps;

struct X86CPU {
    int index;
    uint32_t apic_id;
    bool is_bsp;
    CPUX86State env;           /* state to load at (re)start */
    bool env_dirty;            /* env must be pushed to the accelerator before running */
    MachineState *machine;

    /* Thread control, protected by the BQL (see system/cpus.c). */
    pthread_t thread;
    bool created;
    bool stop;                 /* request to pause */
    bool stopped;              /* acknowledged pause */
    bool quit;                 /* thread must exit */
    volatile int exit_request; /* set by kick; accelerator leaves its run loop */
    void *accel;               /* accelerator private data */

    /* Userspace interrupt delivery (kernel-irqchip=off, TCG). */
    const X86CPUIrqOps *irq_ops;
    void *apic;                /* the userspace local APIC, opaque to the CPU side */
    int interrupt_request;     /* CPU_INTERRUPT_* bits, atomic */
    uint8_t sipi_vector;
};

/* Raise an interrupt request at `cpu` (any thread) and wake it; `sipi_vector` is used with
 * CPU_INTERRUPT_SIPI. */
void x86_cpu_interrupt(X86CPU *cpu, int mask, uint8_t sipi_vector);
/* Take (clear and return) the requests in `mask`. */
int x86_cpu_take_interrupts(X86CPU *cpu, int mask);
/* Block the calling vCPU thread until a request in `mask` or an exit request arrives. */
void x86_cpu_wait_interrupt(X86CPU *cpu, int mask);

/* The vCPU running on this thread (NULL on the I/O thread). */
X86CPU *current_cpu(void);
void current_cpu_set(X86CPU *cpu);
/* State after a startup IPI: real mode at vector << 12 (SDM Vol. 3A §8.4.4.1). */
void x86_cpu_sipi_state(X86CPU *cpu, uint8_t vector);

/* Power-on/INIT state per SDM Vol. 3A §9.1.1 Table 9-1. */
void x86_cpu_reset_state(X86CPU *cpu);
/* Flat 32-bit protected mode code/data segment helpers for loaders. */
void x86_set_flat_segment(SegmentCache *s, uint16_t sel, bool code, bool is64);

#endif
