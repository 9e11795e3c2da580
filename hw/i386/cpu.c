/*
 * x86 vCPU architectural reset state, per Intel SDM Vol. 3A §9.1.1
 * ("Processor State After Reset", Table 9-1).
 */
#include "hw/i386/cpu.h"

#include <string.h>

#include "hw/boards.h"

static void seg_reset(SegmentCache *s, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->limit = 0xffff;
    s->type = type;
    s->s = 1;
    s->present = 1;
}

void x86_cpu_reset_state(X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;

    memset(env, 0, sizeof(*env));
    /* EDX holds the processor signature after reset; family 6 model 6 stepping 3. */
    env->regs[R_EDX] = 0x663;
    env->rip = 0xfff0;
    env->rflags = 0x2;
    seg_reset(&env->segs[R_CS], 0xb); /* execute/read, accessed */
    env->segs[R_CS].selector = 0xf000;
    env->segs[R_CS].base = 0xffff0000;
    for (int i = 0; i < 6; i++) {
        if (i != R_CS) {
            seg_reset(&env->segs[i], 0x3); /* read/write, accessed */
        }
    }
    env->ldt.limit = 0xffff;
    env->ldt.type = 0x2;
    env->ldt.present = 1;
    env->tr.limit = 0xffff;
    env->tr.type = 0xb; /* busy 32-bit TSS, as KVM requires for a valid TR */
    env->tr.present = 1;
    env->gdt.limit = 0xffff;
    env->idt.limit = 0xffff;
    env->cr[0] = CR0_ET | CR0_NW | CR0_CD;
    env->xcr0 = 1;
    env->apic_base = APIC_DEFAULT_BASE | MSR_IA32_APICBASE_ENABLE |
                     (cpu->is_bsp ? MSR_IA32_APICBASE_BSP : 0);
    env->mp_state = cpu->is_bsp ? CPU_MP_RUNNABLE : CPU_MP_WAIT_SIPI;
    cpu->env_dirty = true;
}

void x86_set_flat_segment(SegmentCache *s, uint16_t sel, bool code, bool is64)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->type = code ? 0xb : 0x3;
    s->s = 1;
    s->present = 1;
    s->g = 1;
    s->l = (code && is64) ? 1 : 0;
    s->db = (code && is64) ? 0 : 1;
}

static __thread X86CPU *this_cpu;
static GMutex cpu_wait_lock;
static GCond cpu_wait_cond;

X86CPU *current_cpu(void)
{
    return this_cpu;
}

void current_cpu_set(X86CPU *cpu)
{
    this_cpu = cpu;
}

void x86_cpu_interrupt(X86CPU *cpu, int mask, uint8_t sipi_vector)
{
    g_mutex_lock(&cpu_wait_lock);
    if (mask & CPU_INTERRUPT_SIPI) {
        cpu->sipi_vector = sipi_vector;
    }
    g_atomic_int_or(&cpu->interrupt_request, mask);
    g_cond_broadcast(&cpu_wait_cond);
    g_mutex_unlock(&cpu_wait_lock);
    /* A vCPU inside the accelerator must come out to look at the request. */
    if (cpu != this_cpu && cpu->machine && cpu->machine->accel &&
        cpu->machine->accel->vcpu_kick) {
        cpu->machine->accel->vcpu_kick(cpu);
    }
}

int x86_cpu_take_interrupts(X86CPU *cpu, int mask)
{
    return g_atomic_int_and(&cpu->interrupt_request, ~mask) & mask;
}

void x86_cpu_wait_interrupt(X86CPU *cpu, int mask)
{
    g_mutex_lock(&cpu_wait_lock);
    while (!(g_atomic_int_get(&cpu->interrupt_request) & mask) && !cpu->exit_request) {
        g_cond_wait(&cpu_wait_cond, &cpu_wait_lock);
    }
    g_mutex_unlock(&cpu_wait_lock);
}

void x86_cpu_sipi_state(X86CPU *cpu, uint8_t vector)
{
    CPUX86State *env = &cpu->env;
    env->segs[R_CS].selector = vector << 8;
    env->segs[R_CS].base = (uint32_t)vector << 12;
    env->rip = 0;
    env->mp_state = CPU_MP_RUNNABLE;
    cpu->env_dirty = true;
}
