/* Private state shared by the KVM accelerator's files. */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "hw/boards.h"

typedef struct KVMState {
    int fd;          /* /dev/kvm */
    int vmfd;
    int run_size;    /* mmap size of struct kvm_run */
    bool irqchip;    /* in-kernel PIC/IOAPIC/LAPIC (kernel-irqchip=on) */
    bool split;      /* in-kernel LAPIC only (kernel-irqchip=split) */
    bool readonly_mem;
    int nr_slots;
    struct kvm_cpuid2 *supported_cpuid;
} KVMState;

typedef struct KVMCPU {
    int fd;
    struct kvm_run *run;
} KVMCPU;

extern KVMState kvm_state;

int kvm_vm_ioctl(unsigned long req, void *arg);
bool kvm_cpu_init(X86CPU *cpu, Error **errp);
bool kvm_cpu_exec(X86CPU *cpu);
void kvm_cpu_kick(X86CPU *cpu);
void kvm_cpu_put_state(X86CPU *cpu);
void kvm_cpu_signal_init(void);

#endif
