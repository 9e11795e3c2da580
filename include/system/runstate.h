/*
 * Run states (names as QMP's query-status), shutdown/reset requests and vCPU
 * thread control.  Requests may come from any thread; the main loop acts on them.
 */
#ifndef SYSTEM_RUNSTATE_H
#define SYSTEM_RUNSTATE_H

#include <stdbool.h>

#include "kemu/error.h"

typedef enum RunState {
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_PAUSED,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_PRELAUNCH,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_RUNNING,
    RUN_STATE_SAVE_VM,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_COLO,
    RUN_STATE__MAX
} RunState;

/* Reasons as QMP's ShutdownCause enum. */
typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
    SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
    SHUTDOWN_CAUSE__MAX
} ShutdownCause;

const char *runstate_name(RunState s);
const char *shutdown_cause_name(ShutdownCause c);
RunState runstate_get(void);
bool runstate_is_running(void);
void runstate_set(RunState s);

void vm_start(void);
void vm_stop(RunState state);
/* Ask the main loop to stop the VM (safe from a vCPU thread). */
void vm_stop_request(RunState state);

/* Requests (any thread). */
void system_shutdown_request(ShutdownCause cause);
void system_reset_request(ShutdownCause cause);
void system_powerdown_request(void);
/* Process exit status requested by a device (isa-debug-exit) or an error. */
void system_exit_request(int status);
/* A host signal or an exit asked the process to end (for code that blocks
 * before the main loop runs). */
bool system_shutdown_pending(void);

/* Main-loop side: handle pending requests; returns true when the loop must end,
 * with *status the process exit status. */
bool runstate_handle_requests(int *status);
void runstate_set_no_reboot(bool on);
void runstate_set_no_shutdown(bool on);

/* Event hook: QMP registers here (name as QMP event, data as JSON object text). */
typedef void (*RunstateEventFn)(const char *event, const char *json_data);
void runstate_add_event_listener(RunstateEventFn fn);
void runstate_emit_event(const char *event, const char *json_data);

/* vCPU threads (system/cpus.c) */
typedef struct MachineState MachineState;
void cpus_create(MachineState *ms, Error **errp);
void cpus_pause_all(void);
void cpus_resume_all(void);
void cpus_stop_threads(void);
bool cpus_all_stopped(void);

#endif
