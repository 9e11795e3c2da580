/*
 * Named x86 CPU models (-cpu NAME): the CPUID a guest sees.  "host"/"max" pass
 * through everything the accelerator supports; "qemu64" is QEMU's default model
 * (its documented feature set), intersected with what the accelerator supports.
 */
#ifndef HW_I386_CPU_MODELS_H
#define HW_I386_CPU_MODELS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct X86CPUIDEntry {
    uint32_t function, index;
    uint32_t eax, ebx, ecx, edx;
} X86CPUIDEntry;

typedef struct X86CPUModel X86CPUModel;

#define X86_CPU_MODEL_DEFAULT "qemu64"

const X86CPUModel *x86_cpu_model_find(const char *name);
const char *x86_cpu_model_name(const X86CPUModel *m);
void x86_cpu_model_print_list(void);
/* Rewrite the accelerator-supported CPUID entries in place for model `m`. */
void x86_cpu_model_apply(const X86CPUModel *m, X86CPUIDEntry *e, unsigned n);

#endif
