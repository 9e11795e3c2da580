/*
 * x86 CPU models.  CPUID bit positions per Intel SDM Vol. 2A (CPUID, Tables 3-8 to
 * 3-11) and AMD's CPUID Specification (Fn8000_0001).  The qemu64 model follows
 * QEMU's documented default CPU: AuthenticAMD family 15 model 107 stepping 1,
 * "QEMU Virtual CPU version 2.5+", SSE3 and CX16 but no SSSE3/SSE4/AVX/XSAVE.
 */
#include "hw/i386/cpu-models.h"

#include <stdio.h>
#include <string.h>

struct X86CPUModel {
    const char *name;
    const char *desc;
    bool passthrough;
    const char *vendor;                 /* 12 chars */
    uint32_t signature;                 /* leaf 1 EAX */
    uint32_t level, xlevel;             /* max basic / extended leaf */
    uint32_t f1_edx, f1_ecx;            /* leaf 1 features kept (if supported) */
    uint32_t e1_edx, e1_ecx;            /* leaf 0x80000001 features kept */
    const char *model_id;               /* brand string */
};

#define BIT(n) (1u << (n))

/* Leaf 1 EDX */
#define F_FPU BIT(0)
#define F_DE BIT(2)
#define F_PSE BIT(3)
#define F_TSC BIT(4)
#define F_MSR BIT(5)
#define F_PAE BIT(6)
#define F_MCE BIT(7)
#define F_CX8 BIT(8)
#define F_APIC BIT(9)
#define F_SEP BIT(11)
#define F_MTRR BIT(12)
#define F_PGE BIT(13)
#define F_MCA BIT(14)
#define F_CMOV BIT(15)
#define F_PAT BIT(16)
#define F_PSE36 BIT(17)
#define F_CLFLUSH BIT(19)
#define F_MMX BIT(23)
#define F_FXSR BIT(24)
#define F_SSE BIT(25)
#define F_SSE2 BIT(26)
/* Leaf 1 ECX */
#define F_SSE3 BIT(0)
#define F_CX16 BIT(13)
#define F_X2APIC BIT(21)
#define F_TSC_DEADLINE BIT(24)
#define F_HYPERVISOR BIT(31)
/* Leaf 0x80000001 */
#define E_SYSCALL BIT(11)
#define E_NX BIT(20)
#define E_LM BIT(29)
#define E_LAHF_LM BIT(0)

static const X86CPUModel models[] = {
    {
        .name = "qemu64",
        .desc = "QEMU Virtual CPU version 2.5+",
        .vendor = "AuthenticAMD",
        .signature = (6u << 16) | (0xfu << 8) | (0xbu << 4) | 1u, /* family 15, model 107 */
        .level = 0xd,
        .xlevel = 0x8000000a,
        .f1_edx = F_FPU | F_DE | F_PSE | F_TSC | F_MSR | F_PAE | F_MCE | F_CX8 | F_APIC | F_SEP |
                  F_MTRR | F_PGE | F_MCA | F_CMOV | F_PAT | F_PSE36 | F_CLFLUSH | F_MMX |
                  F_FXSR | F_SSE | F_SSE2,
        /* x2apic and tsc-deadline are on by default under KVM, as in QEMU. */
        .f1_ecx = F_SSE3 | F_CX16 | F_X2APIC | F_TSC_DEADLINE | F_HYPERVISOR,
        .e1_edx = E_SYSCALL | E_NX | E_LM,
        .e1_ecx = E_LAHF_LM,
        .model_id = "QEMU Virtual CPU version 2.5+",
    },
    { .name = "host", .desc = "processor with all supported host features",
      .passthrough = true },
    { .name = "max", .desc = "Enables all features supported by the accelerator in the current "
                             "host", .passthrough = true },
};

const X86CPUModel *x86_cpu_model_find(const char *name)
{
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        if (!strcmp(models[i].name, name)) {
            return &models[i];
        }
    }
    return NULL;
}

const char *x86_cpu_model_name(const X86CPUModel *m)
{
    return m->name;
}

void x86_cpu_model_print_list(void)
{
    printf("Available CPUs:\n");
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        printf("x86 %-22s %s\n", models[i].name, models[i].desc);
    }
}

static void put_vendor(X86CPUIDEntry *e, const char *v)
{
    memcpy(&e->ebx, v, 4);
    memcpy(&e->edx, v + 4, 4);
    memcpy(&e->ecx, v + 8, 4);
}

void x86_cpu_model_apply(const X86CPUModel *m, X86CPUIDEntry *ents, unsigned n)
{
    if (m->passthrough) {
        return;
    }
    char brand[48] = { 0 };
    strncpy(brand, m->model_id, sizeof(brand) - 1);
    for (unsigned i = 0; i < n; i++) {
        X86CPUIDEntry *e = &ents[i];
        uint32_t f = e->function;
        if (f == 0) {
            if (e->eax > m->level) {
                e->eax = m->level;
            }
            put_vendor(e, m->vendor);
        } else if (f == 1) {
            e->eax = m->signature;
            e->edx &= m->f1_edx;
            e->ecx &= m->f1_ecx;
            e->ecx |= F_HYPERVISOR;
        } else if (f == 7 || f == 0xd || f == 0x14 || f == 0x12) {
            /* No structured extended features, XSAVE, PT or SGX in this model. */
            e->eax = e->ebx = e->ecx = e->edx = 0;
        } else if (f > m->level && f < 0x40000000) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        } else if (f == 0x80000000) {
            if (e->eax > m->xlevel) {
                e->eax = m->xlevel;
            }
            put_vendor(e, m->vendor);
        } else if (f == 0x80000001) {
            e->edx &= m->e1_edx;
            e->ecx &= m->e1_ecx;
        } else if (f >= 0x80000002 && f <= 0x80000004) {
            memcpy(&e->eax, brand + (f - 0x80000002) * 16, 16);
        } else if (f > m->xlevel && f >= 0x80000000 && f < 0x90000000) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
}
