/*
 * kemu-system-x86_64: command-line parsing and start-up, following QEMU's
 * documented invocation (qemu-system-x86_64(1)): the same options, option
 * syntax, defaults and error messages, so existing scripts keep working.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

#include "config-host.h"
#include "block/drive.h"
#include "hw/boards.h"
#include "hw/isa.h"
#include "hw/qdev.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "system/accel.h"
#include "system/chardev.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "system/options.h"

/* Optional subsystems linked in by other modules (weak so the core builds alone). */
bool qtest_server_init(const char *spec, const char *logfile, Error **errp) __attribute__((weak));

static KemuConfig cfg;

static void version(void)
{
    printf("kemu emulator version " KEMU_VERSION " (QEMU 7.2 compatible)\n"
           "Copyright (c) 2026 the kemu developers\n");
}

static void usage(void)
{
    version();
    printf("usage: kemu-system-x86_64 [options] [disk_image]\n\n"
           "'disk_image' is a raw hard disk image for IDE hard disk 0\n\n");
    options_print_help();
    exit(0);
}

static void pidfile_remove(void)
{
    if (cfg.pidfile) {
        unlink(cfg.pidfile);
    }
}

static bool pidfile_write(const char *path, Error **errp)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Cannot open pid file");
        return false;
    }
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_setg_errno(errp, errno, "Cannot lock pid file");
        close(fd);
        return false;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, n) != n) {
        error_setg_errno(errp, errno, "Failed to write pid file");
        close(fd);
        return false;
    }
    /* Keep fd open: the lock marks the file as ours while we run. */
    atexit(pidfile_remove);
    return true;
}

static int daemon_pipe[2] = { -1, -1 };

static void daemonize_start(void)
{
    if (pipe(daemon_pipe) < 0) {
        error_report("cannot create pipe for -daemonize: %s", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        error_report("fork failed: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        /* Parent: wait for the child's verdict on start-up. */
        close(daemon_pipe[1]);
        char status = 1;
        ssize_t n;
        do {
            n = read(daemon_pipe[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(daemon_pipe[0]);
    setsid();
    pid = fork();
    if (pid > 0) {
        _exit(0);
    }
    umask(027);
}

static void daemonize_finish(void)
{
    if (daemon_pipe[1] < 0) {
        return;
    }
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    char ok = 0;
    if (write(daemon_pipe[1], &ok, 1) != 1) {
        _exit(1);
    }
    close(daemon_pipe[1]);
    daemon_pipe[1] = -1;
}

static gboolean on_signal(gpointer data)
{
    int sig = GPOINTER_TO_INT(data);
    error_report("terminating on signal %d", sig);
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

static const AccelClass *select_accel(MachineState *ms, Error **errp)
{
    char **names = g_strsplit(cfg.accel ? cfg.accel : "kvm:tcg", ":", -1);
    const AccelClass *chosen = NULL;
    bool explicit = cfg.accel != NULL;
    Error *last = NULL;

    for (char **n = names; *n; n++) {
        const AccelClass *ac = accel_find(*n);
        if (!ac && !strcmp(*n, "tcg")) {
            error_free(last);
            last = NULL;
            error_setg(&last, "-accel tcg: the software x86 CPU is not implemented yet; "
                              "use -accel kvm");
            continue;
        }
        if (!ac) {
            error_setg(errp, "invalid accelerator %s", *n);
            error_free(last);
            g_strfreev(names);
            return NULL;
        }
        if (ac->available && !ac->available()) {
            error_free(last);
            last = NULL;
            error_setg(&last, "%s accelerator not available", ac->name);
            continue;
        }
        ms->accel = ac;
        error_free(last);
        last = NULL;
        if (ac->init(ms, cfg.accel_opts, &last)) {
            chosen = ac;
            break;
        }
        if (!explicit || n[1]) {
            warn_report("failed to initialize %s: %s", ac->name, error_get_pretty(last));
        }
    }
    g_strfreev(names);
    if (!chosen) {
        if (last) {
            error_propagate(errp, last);
        } else {
            error_setg(errp, "no accelerator found");
        }
        return NULL;
    }
    error_free(last);
    accel_set_current(chosen);
    return chosen;
}

static bool create_devices(MachineState *ms, Error **errp)
{
    for (guint i = 0; i < cfg.devices->len; i++) {
        const char *str = g_ptr_array_index(cfg.devices, i);
        char *loc = g_strdup_printf("-device %s", str);
        error_set_location(loc);
        g_free(loc);
        Error *err = NULL;
        if (!device_add_from_string(str, &err)) {
            error_report_err(err);
            exit(1);
        }
        error_set_location(NULL);
    }
    return true;
}

int main(int argc, char **argv)
{
    Error *err = NULL;

    error_set_progname(argv[0]);
    memory_init();
    main_loop_init();
    sysbus_get();

    options_parse(argc, argv, &cfg);
    if (cfg.show_version) {
        version();
        return 0;
    }
    if (cfg.show_help) {
        usage();
    }

    MachineState *ms = machine_state_from_config(&cfg, &err);
    if (!ms) {
        error_report_err(err);
        return 1;
    }
    machine_set_current(ms);
    runstate_set_no_reboot(ms->no_reboot);
    runstate_set_no_shutdown(ms->no_shutdown);

    if (cfg.daemonize) {
        daemonize_start();
    }
    /* Handlers before the PID file exists: whoever reads it may signal us at once. */
    g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
    g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
    g_unix_signal_add(SIGHUP, on_signal, GINT_TO_POINTER(SIGHUP));
    signal(SIGPIPE, SIG_IGN);
    if (cfg.pidfile && !pidfile_write(cfg.pidfile, &err)) {
        error_prepend(&err, "cannot create PID file: ");
        error_report_err(err);
        return 1;
    }

    chardevs_from_config(&cfg, &error_fatal);

    if (cfg.qtest) {
        if (!qtest_server_init) {
            error_report("-qtest: the qtest accelerator is not built in");
            return 1;
        }
        if (!cfg.accel) {
            cfg.accel = "qtest";
        }
    }
    if (!select_accel(ms, &err)) {
        error_report_err(err);
        return 1;
    }
    if (cfg.qtest && !qtest_server_init(cfg.qtest, cfg.qtest_log, &err)) {
        error_report_err(err);
        return 1;
    }

    if (!ms->mc->init(ms, &err)) {
        error_report_err(err);
        return 1;
    }
    serial_connect_from_config(&cfg, &error_fatal);
    create_devices(ms, &error_fatal);
    if (ms->mc->done && !ms->mc->done(ms, &err)) {
        error_report_err(err);
        return 1;
    }
    if (!drives_check_claimed(&err)) {
        error_report_err(err);
        return 1;
    }
    if (!cfg.kernel && strcmp(current_accel()->name, "qtest")) {
        error_report("no -kernel given: firmware boot (SeaBIOS) is not available yet");
        return 1;
    }

    /* Reset brings every device and vCPU to power-on state and places boot blobs. */
    ms->mc->reset(ms);
    cpus_create(ms, &error_fatal);
    daemonize_finish();
    if (cfg.start_paused) {
        runstate_set(RUN_STATE_PRELAUNCH);
    } else {
        vm_start();
    }
    int status = main_loop_run();
    if (runstate_is_running()) {
        cpus_pause_all();
    }
    cpus_stop_threads();
    chardev_close_all();
    drive_cleanup_all();
    bql_unlock();
    return status;
}
