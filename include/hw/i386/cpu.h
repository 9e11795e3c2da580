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

typedef struct X86CPU {
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
} X86CPU;

/* Power-on/INIT state per SDM Vol. 3A §9.1.1 Table 9-1. */
void x86_cpu_reset_state(X86CPU *cpu);
/* Flat 32-bit protected mode code/data segment helpers for loaders. */
void x86_set_flat_segment(SegmentCache *s, uint16_t sel, bool code, bool is64);

#endif
