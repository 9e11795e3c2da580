/*
 * The parsed command line (system/options.c) and the start-up steps that
 * turn it into a machine: QEMU's option names, syntax and messages.
 */
#ifndef SYSTEM_OPTIONS_H
#define SYSTEM_OPTIONS_H

#include <stdbool.h>
#include <glib.h>

#include "hw/boards.h"
#include "kemu/option.h"

typedef struct KemuConfig {
    const char *machine_type;
    Opts *machine_opts;
    const char *accel;          /* "kvm", "kvm:tcg", ... */
    Opts *accel_opts;
    Opts *mem_opts;
    Opts *smp_opts;
    const char *cpu_model;
    const char *kernel, *initrd, *append, *firmware;
    GPtrArray *devices;         /* -device strings */
    GPtrArray *chardevs;        /* -chardev strings */
    GPtrArray *serials;         /* -serial specs */
    GPtrArray *drives;          /* -drive strings (plus -hda etc. rewritten) */
    GPtrArray *debugcons;       /* -debugcon specs */
    const char *display;
    bool nographic;
    bool nodefaults;
    bool no_reboot, no_shutdown;
    bool start_paused;
    bool daemonize;
    bool snapshot;
    const char *pidfile;
    const char *name;
    const char *uuid;
    const char *qtest, *qtest_log;
    bool show_version, show_help;
} KemuConfig;

/* Parse argv; exits 1 with QEMU-style messages on errors, 0 after help output. */
void options_parse(int argc, char **argv, KemuConfig *cfg);
void options_print_help(void);

MachineState *machine_state_from_config(KemuConfig *cfg, Error **errp);
void chardevs_from_config(KemuConfig *cfg, Error **errp);
void serial_connect_from_config(KemuConfig *cfg, Error **errp);
bool device_add_from_string(const char *str, Error **errp);
/* After devices exist: refuse drives no device took (no model for their interface). */
bool drives_check_claimed(Error **errp);

/* Parsing helpers (unit-tested). */
bool smp_parse(const Opts *opts, CpuTopology *t, unsigned max_cpus, const char *machine,
               Error **errp);
bool mem_parse(const Opts *opts, uint64_t *ram_size, Error **errp);

#endif
