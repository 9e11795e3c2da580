/*
 * KVM vCPUs: creation, CPUID (KVM_GET_SUPPORTED_CPUID filtered for the -smp
 * topology, Intel SDM Vol. 2A CPUID leaves 1, 4, 0xB), register state from
 * X86CPU.env, the KVM_RUN loop dispatching port and MMIO exits to the
 * device model under the BQL, and the kick signal.
 */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>

#include "hw/i386/cpu-models.h"
#include "kvm-internal.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"

#define SIG_KICK SIGUSR1

static void kick_handler(int sig)
{
    /* Nothing: the signal only interrupts KVM_RUN. */
}

void kvm_cpu_signal_init(void)
{
    struct sigaction sa = { .sa_handler = kick_handler };
    sigemptyset(&sa.sa_mask);
    sigaction(SIG_KICK, &sa, NULL);
}

void kvm_cpu_kick(X86CPU *cpu)
{
    KVMCPU *k = cpu->accel;
    if (k && k->run) {
        k->run->immediate_exit = 1;
    }
    if (cpu->created) {
        pthread_kill(cpu->thread, SIG_KICK);
    }
}

static unsigned bits_for(unsigned n)
{
    unsigned b = 0;
    while ((1u << b) < n) {
        b++;
    }
    return b;
}

/* Drop every entry of leaf `function` (to be rebuilt). */
static void cpuid_drop_leaf(struct kvm_cpuid2 *c, uint32_t function)
{
    unsigned out = 0;
    for (unsigned i = 0; i < c->nent; i++) {
        if (c->entries[i].function != function) {
            c->entries[out++] = c->entries[i];
        }
    }
    c->nent = out;
}

/* Leaf 0xB, extended topology (SDM Vol. 2A CPUID EAX=0BH), appended (the caller
 * leaves room for 3 entries): sub-leaf 0 the SMT level, sub-leaf 1 the core
 * level, sub-leaf 2 the terminating invalid level. */
static void kvm_cpu_topology_leaf(X86CPU *cpu, struct kvm_cpuid2 *c, unsigned thread_bits,
                                  unsigned core_bits)
{
    const CpuTopology *t = &cpu->machine->smp;
    for (unsigned sub = 0; sub < 3; sub++) {
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
        memset(e, 0, sizeof(*e));
        e->function = 0xb;
        e->index = sub;
        e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        e->edx = cpu->apic_id;
        if (sub == 0) {
            e->eax = thread_bits;
            e->ebx = t->threads;
            e->ecx = (1u << 8) | sub;
        } else if (sub == 1) {
            e->eax = thread_bits + core_bits;
            e->ebx = t->threads * t->cores;
            e->ecx = (2u << 8) | sub;
        } else {
            e->ecx = sub;
        }
    }
}

static void kvm_cpu_setup_cpuid(X86CPU *cpu, struct kvm_cpuid2 *c)
{
    const CpuTopology *t = &cpu->machine->smp;
    unsigned thread_bits = bits_for(t->threads);
    unsigned core_bits = bits_for(t->cores);
    unsigned logical_per_pkg = t->threads * t->cores * (t->dies ? t->dies : 1);

    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0xffff) | (cpu->apic_id << 24) |
                     (MIN(logical_per_pkg, 255u) << 16);
            if (logical_per_pkg > 1) {
                e->edx |= 1u << 28; /* HTT: multi-threading / multi-core */
            }
            e->ecx |= 1u << 31; /* running under a hypervisor */
            if (!kvm_state.irqchip && !kvm_state.split) {
                /* A userspace xAPIC has no x2APIC MSRs and no TSC-deadline mode. */
                e->ecx &= ~((1u << 21) | (1u << 24));
            }
            break;
        case 4:
            /* Cache/core enumeration: EAX[31:26] = cores per package - 1,
             * EAX[25:14] = threads sharing this cache - 1 (per cache level). */
            e->eax &= 0x3fff;
            e->eax |= ((t->cores - 1) & 0x3f) << 26;
            if (((e->eax >> 5) & 7) <= 2) {
                e->eax |= ((t->threads - 1) & 0xfff) << 14;
            } else {
                e->eax |= ((logical_per_pkg - 1) & 0xfff) << 14;
            }
            break;
        case 0x80000002:
        case 0x80000003:
        case 0x80000004:
            if (!e->eax && !e->ebx && !e->ecx && !e->edx) {
                /* Brand string: KVM may list it empty; "host" shows the host's. */
                __cpuid(e->function, e->eax, e->ebx, e->ecx, e->edx);
            }
            break;
        default:
            break;
        }
    }
    /* Leaf 0xB is rebuilt for our topology whenever the model reaches it (the
     * host may list too few sub-leaves of it, or none). */
    uint32_t max_leaf = 0;
    for (unsigned i = 0; i < c->nent; i++) {
        if (c->entries[i].function == 0) {
            max_leaf = c->entries[i].eax;
        }
    }
    cpuid_drop_leaf(c, 0xb);
    if (max_leaf >= 0xb) {
        kvm_cpu_topology_leaf(cpu, c, thread_bits, core_bits);
    }
}

bool kvm_cpu_init(X86CPU *cpu, Error **errp)
{
    KVMCPU *k = g_new0(KVMCPU, 1);
    k->fd = ioctl(kvm_state.vmfd, KVM_CREATE_VCPU, (unsigned long)cpu->apic_id);
    if (k->fd < 0) {
        error_setg_errno(errp, errno, "kvm_init_vcpu: kvm_get_vcpu failed (%u)", cpu->index);
        g_free(k);
        return false;
    }
    k->run = mmap(NULL, kvm_state.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
    if (k->run == MAP_FAILED) {
        error_setg_errno(errp, errno, "kvm: cannot map the vCPU run area");
        close(k->fd);
        g_free(k);
        return false;
    }
    cpu->accel = k;

    size_t sz = sizeof(struct kvm_cpuid2) +
                kvm_state.supported_cpuid->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = g_malloc0(sz + 3 * sizeof(struct kvm_cpuid_entry2));
    memcpy(c, kvm_state.supported_cpuid, sz);
    const X86CPUModel *model = x86_cpu_model_find(cpu->machine->cpu_model);
    if (model) {
        X86CPUIDEntry *ents = g_new(X86CPUIDEntry, c->nent);
        for (unsigned i = 0; i < c->nent; i++) {
            struct kvm_cpuid_entry2 *ke = &c->entries[i];
            ents[i] = (X86CPUIDEntry){ ke->function, ke->index, ke->eax, ke->ebx, ke->ecx,
                                       ke->edx };
        }
        x86_cpu_model_apply(model, ents, c->nent);
        for (unsigned i = 0; i < c->nent; i++) {
            struct kvm_cpuid_entry2 *ke = &c->entries[i];
            ke->eax = ents[i].eax;
            ke->ebx = ents[i].ebx;
            ke->ecx = ents[i].ecx;
            ke->edx = ents[i].edx;
        }
        g_free(ents);
    }
    kvm_cpu_setup_cpuid(cpu, c);
    if (ioctl(k->fd, KVM_SET_CPUID2, c) < 0) {
        error_setg_errno(errp, errno, "kvm: KVM_SET_CPUID2 failed");
        g_free(c);
        return false;
    }
    g_free(c);
    return true;
}

static void seg_to_kvm(struct kvm_segment *k, const SegmentCache *s)
{
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
    k->avl = s->avl;
    k->unusable = !s->present;
}

/* Fresh local APIC register page: ID, masked LVTs, flat DFR; the BSP's LINT0 in
 * ExtINT mode so the 8259 reaches it before the OS programs the APIC. */
static void kvm_cpu_reset_lapic(X86CPU *cpu, KVMCPU *k)
{
    struct kvm_lapic_state st;
    if (ioctl(k->fd, KVM_GET_LAPIC, &st) < 0) {
        return;
    }
    uint32_t version;
    memcpy(&version, &st.regs[0x30], 4);
    memset(&st, 0, sizeof(st));
#define LAPIC_SET(off, v) do { uint32_t v_ = (v); memcpy(&st.regs[off], &v_, 4); } while (0)
    LAPIC_SET(0x20, cpu->apic_id << 24);
    LAPIC_SET(0x30, version);
    LAPIC_SET(0xe0, 0xffffffff);
    LAPIC_SET(0xf0, 0xff);
    for (unsigned off = 0x320; off <= 0x370; off += 0x10) {
        LAPIC_SET(off, 0x10000);
    }
    if (cpu->is_bsp) {
        LAPIC_SET(0x350, 0x700);
        LAPIC_SET(0x360, 0x400);
    }
    LAPIC_SET(0x2f0, 0x10000);
#undef LAPIC_SET
    ioctl(k->fd, KVM_SET_LAPIC, &st);
}

void kvm_cpu_put_state(X86CPU *cpu)
{
    KVMCPU *k = cpu->accel;
    CPUX86State *env = &cpu->env;
    struct kvm_regs regs = { 0 };
    struct kvm_sregs sregs = { 0 };

    regs.rax = env->regs[R_EAX];
    regs.rbx = env->regs[R_EBX];
    regs.rcx = env->regs[R_ECX];
    regs.rdx = env->regs[R_EDX];
    regs.rsi = env->regs[R_ESI];
    regs.rdi = env->regs[R_EDI];
    regs.rsp = env->regs[R_ESP];
    regs.rbp = env->regs[R_EBP];
    regs.r8 = env->regs[8];
    regs.r9 = env->regs[9];
    regs.r10 = env->regs[10];
    regs.r11 = env->regs[11];
    regs.r12 = env->regs[12];
    regs.r13 = env->regs[13];
    regs.r14 = env->regs[14];
    regs.r15 = env->regs[15];
    regs.rip = env->rip;
    regs.rflags = env->rflags;

    seg_to_kvm(&sregs.cs, &env->segs[R_CS]);
    seg_to_kvm(&sregs.ds, &env->segs[R_DS]);
    seg_to_kvm(&sregs.es, &env->segs[R_ES]);
    seg_to_kvm(&sregs.fs, &env->segs[R_FS]);
    seg_to_kvm(&sregs.gs, &env->segs[R_GS]);
    seg_to_kvm(&sregs.ss, &env->segs[R_SS]);
    seg_to_kvm(&sregs.tr, &env->tr);
    seg_to_kvm(&sregs.ldt, &env->ldt);
    sregs.tr.unusable = 0;
    sregs.gdt.base = env->gdt.base;
    sregs.gdt.limit = env->gdt.limit;
    sregs.idt.base = env->idt.base;
    sregs.idt.limit = env->idt.limit;
    sregs.cr0 = env->cr[0];
    sregs.cr2 = env->cr[2];
    sregs.cr3 = env->cr[3];
    sregs.cr4 = env->cr[4];
    sregs.efer = env->efer;
    sregs.apic_base = env->apic_base;

    if (ioctl(k->fd, KVM_SET_SREGS, &sregs) < 0) {
        error_report("kvm: KVM_SET_SREGS: %s", strerror(errno));
    }
    if (ioctl(k->fd, KVM_SET_REGS, &regs) < 0) {
        error_report("kvm: KVM_SET_REGS: %s", strerror(errno));
    }

    struct kvm_fpu fpu = { 0 };
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    ioctl(k->fd, KVM_SET_FPU, &fpu);

    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[8];
    } msrs = { 0 };
    int n = 0;
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x1a0, .data = 1 };  /* MISC_ENABLE: fast strings */
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x10, .data = 0 };   /* TSC */
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x174, .data = 0 };  /* SYSENTER_CS */
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x175, .data = 0 };
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x176, .data = 0 };
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x277, .data = 0x0007040600070406ull }; /* PAT */
    /* MTRRs enabled with write-back as the default type, as firmware leaves them: kemu
     * boots kernels directly, and Linux turns PAT off when it finds MTRRs disabled. */
    msrs.e[n++] = (struct kvm_msr_entry){ .index = 0x2ff, .data = 0x806 };
    msrs.hdr.nmsrs = n;
    int set = ioctl(k->fd, KVM_SET_MSRS, &msrs);
    if (set != n) {
        /* KVM stops at the first MSR it refuses. */
        warn_report("kvm: could not set MSR 0x%x", set >= 0 && set < n ? msrs.e[set].index : 0);
    }

    if (kvm_state.irqchip || kvm_state.split) {
        kvm_cpu_reset_lapic(cpu, k);
        struct kvm_mp_state mp = {
            .mp_state = env->mp_state == CPU_MP_WAIT_SIPI ? KVM_MP_STATE_INIT_RECEIVED
                                                          : KVM_MP_STATE_RUNNABLE,
        };
        ioctl(k->fd, KVM_SET_MP_STATE, &mp);
    }
}

static void kvm_dump_state(X86CPU *cpu)
{
    KVMCPU *k = cpu->accel;
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(k->fd, KVM_GET_REGS, &r) < 0 || ioctl(k->fd, KVM_GET_SREGS, &s) < 0) {
        return;
    }
    fprintf(stderr,
            "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
            "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
            "RIP=%016llx RFL=%08llx CS=%04x CR0=%08llx CR3=%08llx CR4=%08llx EFER=%016llx\n",
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.rip, r.rflags,
            s.cs.selector, s.cr0, s.cr3, s.cr4, s.efer);
}

static void kvm_handle_io(struct kvm_run *run)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    bql_lock();
    for (uint32_t i = 0; i < run->io.count; i++) {
        uint64_t v = 0;
        if (is_write) {
            memcpy(&v, data, run->io.size);
        }
        address_space_ldst(&address_space_io, run->io.port, &v, run->io.size, is_write);
        if (!is_write) {
            memcpy(data, &v, run->io.size);
        }
        data += run->io.size;
    }
    bql_unlock();
}

static void kvm_handle_mmio(struct kvm_run *run)
{
    bql_lock();
    address_space_rw(&address_space_memory, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                     run->mmio.is_write);
    bql_unlock();
}

/*
 * Userspace interrupt controllers (kernel-irqchip=off or split): before entering the guest,
 * act on INIT/SIPI (off only: the LAPIC is ours), inject an NMI, inject a vector when the
 * guest can take one, or ask KVM to exit when it can (interrupt window).  Returns false when
 * the vCPU must not enter the guest now (waiting for SIPI).
 */
static bool kvm_cpu_pre_run(X86CPU *cpu, KVMCPU *k)
{
    struct kvm_run *run = k->run;
    const X86CPUIrqOps *ops = cpu->irq_ops;

    if (!kvm_state.split) {
        int req = x86_cpu_take_interrupts(cpu, CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI);
        if (req & CPU_INTERRUPT_INIT) {
            /* INIT: reset to wait-for-SIPI, keeping the APIC base (SDM §8.4.1). */
            uint64_t base = cpu->env.apic_base;
            bool bsp = cpu->is_bsp;
            x86_cpu_reset_state(cpu);
            cpu->env.apic_base = base;
            if (!bsp || !(req & CPU_INTERRUPT_SIPI)) {
                cpu->env.mp_state = CPU_MP_WAIT_SIPI;
            }
        }
        if ((req & CPU_INTERRUPT_SIPI) && cpu->env.mp_state == CPU_MP_WAIT_SIPI) {
            x86_cpu_sipi_state(cpu, cpu->sipi_vector);
        }
        if (cpu->env.mp_state == CPU_MP_WAIT_SIPI) {
            x86_cpu_wait_interrupt(cpu, CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI);
            return false;
        }
        if (cpu->env_dirty) {
            kvm_cpu_put_state(cpu);
            cpu->env_dirty = false;
        }
    }
    if (x86_cpu_take_interrupts(cpu, CPU_INTERRUPT_NMI)) {
        ioctl(k->fd, KVM_NMI);
    }
    if (ops && (g_atomic_int_get(&cpu->interrupt_request) & CPU_INTERRUPT_HARD)) {
        if (run->ready_for_interrupt_injection) {
            bql_lock();
            int vector = ops->get_interrupt(cpu);
            bool more = ops->has_interrupt(cpu);
            bql_unlock();
            if (!more) {
                x86_cpu_take_interrupts(cpu, CPU_INTERRUPT_HARD);
            }
            if (vector >= 0) {
                struct kvm_interrupt intr = { .irq = vector };
                ioctl(k->fd, KVM_INTERRUPT, &intr);
            }
        }
    }
    run->request_interrupt_window =
        (g_atomic_int_get(&cpu->interrupt_request) & CPU_INTERRUPT_HARD) ? 1 : 0;
    if (ops && !kvm_state.split && ops->get_tpr) {
        bql_lock();
        run->cr8 = ops->get_tpr(cpu) >> 4;
        bql_unlock();
    }
    return true;
}

static void kvm_cpu_post_run(X86CPU *cpu, KVMCPU *k)
{
    struct kvm_run *run = k->run;
    const X86CPUIrqOps *ops = cpu->irq_ops;
    if (ops && !kvm_state.split) {
        bql_lock();
        if (ops->set_tpr) {
            ops->set_tpr(cpu, run->cr8 << 4);
        }
        if (ops->set_apic_base && ops->get_apic_base &&
            ops->get_apic_base(cpu) != run->apic_base) {
            ops->set_apic_base(cpu, run->apic_base);
        }
        bql_unlock();
    }
}

bool kvm_cpu_exec(X86CPU *cpu)
{
    KVMCPU *k = cpu->accel;
    struct kvm_run *run = k->run;
    bool userspace_irqchip = !kvm_state.irqchip;

    current_cpu_set(cpu);
    for (;;) {
        if (userspace_irqchip && !kvm_cpu_pre_run(cpu, k)) {
            return true;
        }
        run->immediate_exit = cpu->exit_request;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (cpu->exit_request) {
            run->immediate_exit = 0;
            return true;
        }
        int r = ioctl(k->fd, KVM_RUN, 0);
        run->immediate_exit = 0;
        if (userspace_irqchip) {
            kvm_cpu_post_run(cpu, k);
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            error_report("kvm run failed %s", strerror(errno));
            kvm_dump_state(cpu);
            return false;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            kvm_handle_io(run);
            break;
        case KVM_EXIT_MMIO:
            kvm_handle_mmio(run);
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_IOAPIC_EOI:
            bql_lock();
            accel_ioapic_eoi(run->eoi.vector);
            bql_unlock();
            break;
        case KVM_EXIT_HLT:
            /* Only without an in-kernel LAPIC: sleep until an interrupt is requested. */
            if (!(run->if_flag) && !(g_atomic_int_get(&cpu->interrupt_request) &
                                     (CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT))) {
                /* HLT with interrupts off: only NMI/INIT wake the CPU. */
                x86_cpu_wait_interrupt(cpu, CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT |
                                            CPU_INTERRUPT_SIPI);
            } else {
                x86_cpu_wait_interrupt(cpu, CPU_INTERRUPT_HARD | CPU_INTERRUPT_NMI |
                                            CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI);
            }
            if (cpu->exit_request) {
                return true;
            }
            break;
        case KVM_EXIT_SHUTDOWN:
            /* Triple fault: the PC resets. */
            system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
            cpu->stop = true;
            return true;
        case KVM_EXIT_SYSTEM_EVENT:
            if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
                system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
            } else {
                system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
            }
            cpu->stop = true;
            return true;
        case KVM_EXIT_FAIL_ENTRY:
            error_report("KVM: entry failed, hardware error 0x%llx",
                         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            kvm_dump_state(cpu);
            return false;
        case KVM_EXIT_INTERNAL_ERROR:
            error_report("KVM internal error. Suberror: %u", run->internal.suberror);
            kvm_dump_state(cpu);
            return false;
        default:
            error_report("KVM: unhandled exit reason %u", run->exit_reason);
            kvm_dump_state(cpu);
            return false;
        }
    }
}
