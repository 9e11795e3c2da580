/*
 * vCPU threads.  Each vCPU runs accel->vcpu_exec() without the BQL; pausing
 * sets cpu->stop and kicks it, then waits (releasing the BQL) until every vCPU
 * acknowledges.  A vCPU takes the BQL only to call into devices.
 */
#include <glib.h>
#include <pthread.h>
#include <signal.h>

#include "hw/boards.h"
#include "system/main-loop.h"
#include "system/runstate.h"

static GCond pause_cond;   /* a vCPU changed its stopped state */
static GCond resume_cond;  /* vCPUs may run again */

/* The BQL is a GMutex in main-loop.c; the conditions wait on it. */
GMutex *main_loop_bql_mutex(void);
#define bql_mutex_for_cond() main_loop_bql_mutex()

static bool cpu_should_stop(X86CPU *cpu)
{
    return cpu->stop || cpu->quit || !runstate_is_running();
}

static void *vcpu_thread_fn(void *arg)
{
    X86CPU *cpu = arg;
    const AccelClass *ac = cpu->machine->accel;
    char name[16];

    g_snprintf(name, sizeof(name), "CPU %d/KVM", cpu->index);
    pthread_setname_np(pthread_self(), name);

    bql_lock();
    cpu->created = true;
    g_cond_broadcast(&pause_cond);
    while (!cpu->quit) {
        if (cpu_should_stop(cpu)) {
            if (!cpu->stopped) {
                cpu->stopped = true;
                g_cond_broadcast(&pause_cond);
            }
            g_cond_wait(&resume_cond, bql_mutex_for_cond());
            continue;
        }
        cpu->stopped = false;
        if (cpu->env_dirty && ac->vcpu_put_state) {
            ac->vcpu_put_state(cpu);
            cpu->env_dirty = false;
        }
        bql_unlock();
        bool ok = ac->vcpu_exec(cpu);
        bql_lock();
        if (!ok && !cpu->exit_request && !cpu->quit) {
            /* Fatal vCPU error (already reported): the VM stops, as QEMU does. */
            cpu->stop = true;
            vm_stop_request(RUN_STATE_INTERNAL_ERROR);
        }
        cpu->exit_request = 0;
    }
    cpu->stopped = true;
    g_cond_broadcast(&pause_cond);
    bql_unlock();
    return NULL;
}

void cpus_create(MachineState *ms, Error **errp)
{
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        X86CPU *cpu = ms->cpus[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        /* Keep the thread signal mask: the accelerator's kick signal is unblocked there. */
        if (pthread_create(&cpu->thread, &attr, vcpu_thread_fn, cpu)) {
            error_setg(errp, "cannot create vCPU thread %u", i);
            return;
        }
        pthread_attr_destroy(&attr);
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        while (!ms->cpus[i]->created) {
            g_cond_wait(&pause_cond, bql_mutex_for_cond());
        }
    }
}

static void kick(X86CPU *cpu)
{
    const AccelClass *ac = cpu->machine->accel;
    cpu->exit_request = 1;
    if (ac->vcpu_kick) {
        ac->vcpu_kick(cpu);
    }
    /* A vCPU sleeping in HLT or wait-for-SIPI waits on a condition, not in the kernel. */
    x86_cpu_interrupt(cpu, 0, 0);
}

bool cpus_all_stopped(void)
{
    MachineState *ms = current_machine();
    for (unsigned i = 0; ms && i < ms->smp.cpus; i++) {
        if (ms->cpus[i]->created && !ms->cpus[i]->stopped) {
            return false;
        }
    }
    return true;
}

void cpus_pause_all(void)
{
    MachineState *ms = current_machine();
    if (!ms) {
        return;
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        ms->cpus[i]->stop = true;
        kick(ms->cpus[i]);
    }
    while (!cpus_all_stopped()) {
        gint64 end = g_get_monotonic_time() + 10 * 1000;
        g_cond_wait_until(&pause_cond, bql_mutex_for_cond(), end);
        for (unsigned i = 0; i < ms->smp.cpus; i++) {
            if (!ms->cpus[i]->stopped) {
                kick(ms->cpus[i]);
            }
        }
    }
}

void cpus_resume_all(void)
{
    MachineState *ms = current_machine();
    if (!ms) {
        return;
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        ms->cpus[i]->stop = false;
    }
    g_cond_broadcast(&resume_cond);
}

void cpus_stop_threads(void)
{
    MachineState *ms = current_machine();
    if (!ms) {
        return;
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        if (ms->cpus[i]->created) {
            ms->cpus[i]->quit = true;
            kick(ms->cpus[i]);
        }
    }
    g_cond_broadcast(&resume_cond);
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        if (ms->cpus[i]->created) {
            bql_unlock();
            pthread_join(ms->cpus[i]->thread, NULL);
            bql_lock();
            ms->cpus[i]->created = false;
        }
    }
}
