/*
 * Run-state machine and shutdown/reset/powerdown requests.  State names and
 * shutdown causes are QMP's (RunState, ShutdownCause); transitions emit the
 * QMP events STOP, RESUME, SHUTDOWN, RESET and POWERDOWN through listeners.
 */
#include "system/runstate.h"

#include <glib.h>

#include "hw/boards.h"
#include "system/main-loop.h"
#include "system/timer.h"

static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_DEBUG] = "debug",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [RUN_STATE_RESTORE_VM] = "restore-vm",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_SAVE_VM] = "save-vm",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_SUSPENDED] = "suspended",
    [RUN_STATE_WATCHDOG] = "watchdog",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_COLO] = "colo",
};

static const char *const cause_names[SHUTDOWN_CAUSE__MAX] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
    [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
    [SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "snapshot-load",
};

static RunState current_state = RUN_STATE_PRELAUNCH;
static gint shutdown_requested; /* ShutdownCause */
static gint reset_requested;    /* ShutdownCause */
static gint powerdown_requested;
static gint exit_requested;
static gint stop_requested; /* RunState + 1 */
static gint exit_status;
static bool no_reboot, no_shutdown;
static GPtrArray *listeners;

const char *runstate_name(RunState s)
{
    return s < RUN_STATE__MAX ? runstate_names[s] : "unknown";
}

const char *shutdown_cause_name(ShutdownCause c)
{
    return c < SHUTDOWN_CAUSE__MAX ? cause_names[c] : "none";
}

RunState runstate_get(void)
{
    return current_state;
}

bool runstate_is_running(void)
{
    return current_state == RUN_STATE_RUNNING;
}

void runstate_set(RunState s)
{
    current_state = s;
}

void runstate_set_no_reboot(bool on)
{
    no_reboot = on;
}

void runstate_set_no_shutdown(bool on)
{
    no_shutdown = on;
}

void runstate_add_event_listener(RunstateEventFn fn)
{
    if (!listeners) {
        listeners = g_ptr_array_new();
    }
    g_ptr_array_add(listeners, (gpointer)fn);
}

void runstate_emit_event(const char *event, const char *json_data)
{
    for (guint i = 0; listeners && i < listeners->len; i++) {
        ((RunstateEventFn)g_ptr_array_index(listeners, i))(event, json_data);
    }
}

void vm_start(void)
{
    if (current_state == RUN_STATE_RUNNING) {
        return;
    }
    runstate_set(RUN_STATE_RUNNING);
    clock_virtual_start();
    cpus_resume_all();
    runstate_emit_event("RESUME", NULL);
}

void vm_stop(RunState state)
{
    if (current_state != RUN_STATE_RUNNING) {
        runstate_set(state);
        return;
    }
    cpus_pause_all();
    clock_virtual_stop();
    runstate_set(state);
    runstate_emit_event("STOP", NULL);
}

void vm_stop_request(RunState state)
{
    g_atomic_int_set(&stop_requested, state + 1);
    main_loop_wakeup();
}

void system_shutdown_request(ShutdownCause cause)
{
    g_atomic_int_set(&shutdown_requested, cause ? cause : SHUTDOWN_CAUSE_HOST_ERROR);
    main_loop_wakeup();
}

void system_reset_request(ShutdownCause cause)
{
    /* With -no-reboot a guest reset turns into a shutdown, as QEMU does. */
    if (no_reboot && cause != SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET) {
        system_shutdown_request(cause);
        return;
    }
    g_atomic_int_set(&reset_requested, cause ? cause : SHUTDOWN_CAUSE_GUEST_RESET);
    main_loop_wakeup();
}

void system_powerdown_request(void)
{
    g_atomic_int_set(&powerdown_requested, 1);
    main_loop_wakeup();
}

void system_exit_request(int status)
{
    g_atomic_int_set(&exit_status, status);
    g_atomic_int_set(&exit_requested, 1);
    main_loop_wakeup();
}

static void system_reset(ShutdownCause cause)
{
    MachineState *ms = current_machine();
    bool was_running = runstate_is_running();
    if (was_running) {
        cpus_pause_all();
    }
    if (ms && ms->mc->reset) {
        ms->mc->reset(ms);
    }
    char *data = g_strdup_printf("{\"guest\": %s, \"reason\": \"%s\"}",
                                 cause == SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET ? "false" : "true",
                                 shutdown_cause_name(cause));
    runstate_emit_event("RESET", data);
    g_free(data);
    if (was_running) {
        cpus_resume_all();
    }
}

bool system_shutdown_pending(void)
{
    return g_atomic_int_get(&exit_requested) ||
           g_atomic_int_get(&shutdown_requested) == SHUTDOWN_CAUSE_HOST_SIGNAL;
}

bool runstate_handle_requests(int *status)
{
    if (g_atomic_int_get(&exit_requested)) {
        *status = g_atomic_int_get(&exit_status);
        return true;
    }
    int cause = g_atomic_int_get(&shutdown_requested);
    if (cause) {
        g_atomic_int_set(&shutdown_requested, 0);
        char *data = g_strdup_printf("{\"guest\": %s, \"reason\": \"%s\"}",
                                     (cause == SHUTDOWN_CAUSE_GUEST_SHUTDOWN ||
                                      cause == SHUTDOWN_CAUSE_GUEST_RESET ||
                                      cause == SHUTDOWN_CAUSE_GUEST_PANIC) ? "true" : "false",
                                     shutdown_cause_name(cause));
        runstate_emit_event("SHUTDOWN", data);
        g_free(data);
        if (no_shutdown && cause != SHUTDOWN_CAUSE_HOST_SIGNAL &&
            cause != SHUTDOWN_CAUSE_HOST_QMP_QUIT) {
            vm_stop(RUN_STATE_SHUTDOWN);
            return false;
        }
        *status = 0;
        return true;
    }
    int stop = g_atomic_int_get(&stop_requested);
    if (stop) {
        g_atomic_int_set(&stop_requested, 0);
        vm_stop((RunState)(stop - 1));
    }
    cause = g_atomic_int_get(&reset_requested);
    if (cause) {
        g_atomic_int_set(&reset_requested, 0);
        system_reset(cause);
    }
    if (g_atomic_int_get(&powerdown_requested)) {
        g_atomic_int_set(&powerdown_requested, 0);
        runstate_emit_event("POWERDOWN", NULL);
        MachineState *ms = current_machine();
        if (ms && ms->mc->powerdown) {
            ms->mc->powerdown(ms);
        }
    }
    return false;
}
