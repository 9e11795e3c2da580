/*
 * Command-line options of kemu-system-x86_64, with QEMU's names, argument
 * syntax (QemuOpts "key=value,..." with implied first keys) and messages.
 */
#include "system/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/i386/cpu-models.h"
#include "hw/isa.h"
#include "block/drive.h"
#include "hw/qdev.h"
#include "hw/timer/mc146818rtc.h"
#include "kemu/error.h"
#include "system/chardev.h"


typedef enum OptId {
    OPT_M, OPT_MACHINE, OPT_ACCEL, OPT_ENABLE_KVM, OPT_MEM, OPT_SMP, OPT_CPU,
    OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_BIOS, OPT_NOGRAPHIC, OPT_DISPLAY,
    OPT_SERIAL, OPT_CHARDEV, OPT_DEVICE, OPT_GLOBAL, OPT_NAME, OPT_UUID,
    OPT_NO_REBOOT, OPT_NO_SHUTDOWN, OPT_S, OPT_NODEFAULTS, OPT_PIDFILE,
    OPT_DAEMONIZE, OPT_VERSION, OPT_HELP, OPT_QTEST, OPT_QTEST_LOG, OPT_DRIVE,
    OPT_HDA, OPT_HDB, OPT_HDC, OPT_HDD, OPT_CDROM, OPT_SNAPSHOT, OPT_DEBUGCON,
    OPT_VGA, OPT_BOOT, OPT_RTC, OPT_NO_HPET, OPT_MONITOR, OPT_PARALLEL,
} OptId;

typedef struct OptDef {
    const char *name;
    OptId id;
    bool has_arg;
    const char *help;
} OptDef;

static const OptDef opt_defs[] = {
    { "M", OPT_M, true, "-machine [type=]name[,prop=value...]  selects the emulated machine" },
    { "machine", OPT_MACHINE, true, NULL },
    { "accel", OPT_ACCEL, true, "-accel kvm|tcg|qtest[,prop=value]  accelerator (kvm:tcg tries "
                                  "kvm then tcg)" },
    { "enable-kvm", OPT_ENABLE_KVM, false, "-enable-kvm     same as -accel kvm" },
    { "m", OPT_MEM, true, "-m [size=]megs[,slots=n,maxmem=size]  guest RAM (suffixes k/M/G)" },
    { "smp", OPT_SMP, true, "-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies]"
                              "[,cores=cores][,threads=threads]" },
    { "cpu", OPT_CPU, true, "-cpu model      CPU model (-cpu help for a list)" },
    { "kernel", OPT_KERNEL, true, "-kernel bzImage  Linux kernel or multiboot image" },
    { "initrd", OPT_INITRD, true, "-initrd file    initial ram disk (multiboot: module list)" },
    { "append", OPT_APPEND, true, "-append cmdline  kernel command line" },
    { "bios", OPT_BIOS, true, "-bios file      BIOS image (SeaBIOS)" },
    { "nographic", OPT_NOGRAPHIC, false, "-nographic      no graphics; serial and monitor on "
                                          "stdio" },
    { "display", OPT_DISPLAY, true, "-display none   display backend" },
    { "serial", OPT_SERIAL, true, "-serial dev     serial port (stdio, null, none, file:PATH, "
                                    "chardev:ID, mon:stdio)" },
    { "chardev", OPT_CHARDEV, true, "-chardev backend,id=id[,...]  character device (null, "
                                      "file, stdio)" },
    { "device", OPT_DEVICE, true, "-device driver[,prop=value][,...]  add a device (-device "
                                    "help)" },
    { "global", OPT_GLOBAL, true, "-global driver.prop=value  default property value" },
    { "name", OPT_NAME, true, "-name string    guest name" },
    { "uuid", OPT_UUID, true, "-uuid %08x-%04x-%04x-%04x-%012x  machine UUID" },
    { "no-reboot", OPT_NO_REBOOT, false, "-no-reboot      exit instead of rebooting" },
    { "no-shutdown", OPT_NO_SHUTDOWN, false, "-no-shutdown    stop (don't exit) on guest "
                                              "shutdown" },
    { "S", OPT_S, false, "-S              freeze CPU at start-up" },
    { "nodefaults", OPT_NODEFAULTS, false, "-nodefaults     don't create default devices" },
    { "pidfile", OPT_PIDFILE, true, "-pidfile file   write PID to file" },
    { "daemonize", OPT_DAEMONIZE, false, "-daemonize      detach after start-up" },
    { "version", OPT_VERSION, false, "-version        display version information and exit" },
    { "h", OPT_HELP, false, "-h or -help     display this help and exit" },
    { "help", OPT_HELP, false, NULL },
    { "qtest", OPT_QTEST, true, "-qtest unix:PATH  qtest protocol socket (with -accel qtest)" },
    { "qtest-log", OPT_QTEST_LOG, true, NULL },
    { "drive", OPT_DRIVE, true, "-drive [file=file][,if=type][,format=f][,...]  add a drive" },
    { "hda", OPT_HDA, true, "-hda/-hdb/-hdc/-hdd file  IDE hard disk image" },
    { "hdb", OPT_HDB, true, NULL },
    { "hdc", OPT_HDC, true, NULL },
    { "hdd", OPT_HDD, true, NULL },
    { "cdrom", OPT_CDROM, true, "-cdrom file     CD-ROM image" },
    { "snapshot", OPT_SNAPSHOT, false, "-snapshot       write to temporary files instead of "
                                        "disk images" },
    { "debugcon", OPT_DEBUGCON, true, "-debugcon dev   debug console on port 0xe9" },
    { "vga", OPT_VGA, true, NULL },
    { "boot", OPT_BOOT, true, NULL },
    { "rtc", OPT_RTC, true, "-rtc [base=utc|localtime|datetime][,clock=host|rt|vm]"
                            "[,driftfix=none|slew]  RTC start time and clock" },
    { "no-hpet", OPT_NO_HPET, false, NULL },
    { "monitor", OPT_MONITOR, true, NULL },
    { "parallel", OPT_PARALLEL, true, NULL },
};

void options_print_help(void)
{
    printf("Standard options:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(opt_defs); i++) {
        if (opt_defs[i].help) {
            printf("%s\n", opt_defs[i].help);
        }
    }
    printf("\nDuring emulation with -nographic, press C-a h for the escape keys.\n");
}

static const OptDef *find_opt(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(opt_defs); i++) {
        if (!strcmp(opt_defs[i].name, name)) {
            return &opt_defs[i];
        }
    }
    return NULL;
}

/* Parse "str" as QemuOpts; on error report "-opt str: message" and exit 1. */
static Opts *parse_or_die(const char *opt, const char *str, const char *implied)
{
    Error *err = NULL;
    Opts *o = opts_parse(str, implied, &err);
    if (!o) {
        error_report("-%s %s: %s", opt, str, error_get_pretty(err));
        exit(1);
    }
    return o;
}

static void die_opt_hint(const char *opt, const char *arg, const char *msg, const char *hint)
{
    error_report("-%s %s: %s", opt, arg, msg);
    if (hint) {
        fprintf(stderr, "%s\n", hint);
    }
    exit(1);
}

static void die_opt(const char *opt, const char *arg, const char *msg)
{
    die_opt_hint(opt, arg, msg, NULL);
}

static void add_drive(KemuConfig *cfg, const char *s)
{
    g_ptr_array_add(cfg->drives, g_strdup(s));
}

void options_parse(int argc, char **argv, KemuConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->devices = g_ptr_array_new();
    cfg->chardevs = g_ptr_array_new();
    cfg->serials = g_ptr_array_new();
    cfg->drives = g_ptr_array_new();
    cfg->debugcons = g_ptr_array_new();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            /* A bare file name is the first IDE disk, as QEMU's "disk_image". */
            char *d = g_strdup_printf("index=0,media=disk,file=%s", a);
            add_drive(cfg, d);
            g_free(d);
            continue;
        }
        const char *name = a + 1;
        if (name[0] == '-') {
            name++; /* --option is accepted too */
        }
        const OptDef *def = find_opt(name);
        if (!def) {
            error_report("%s: invalid option", a);
            exit(1);
        }
        const char *arg = NULL;
        if (def->has_arg) {
            if (i + 1 >= argc) {
                error_report("%s: requires an argument", a);
                exit(1);
            }
            arg = argv[++i];
        }
        switch (def->id) {
        case OPT_M:
        case OPT_MACHINE: {
            Opts *o = parse_or_die(name, arg, "type");
            if (!cfg->machine_opts) {
                cfg->machine_opts = opts_new();
            }
            for (size_t k = 0; k < opts_count(o); k++) {
                opts_set(cfg->machine_opts, opts_key_at(o, k), opts_value_at(o, k));
            }
            if (opts_wants_help(o)) {
                machine_print_list();
                exit(0);
            }
            opts_free(o);
            break;
        }
        case OPT_ACCEL: {
            Opts *o = parse_or_die(name, arg, "accel");
            const char *acc = opts_get(o, "accel");
            if (opts_str_is_help(acc)) {
                printf("Accelerators supported in QEMU binary:\nkvm\nqtest\n");
                exit(0);
            }
            if (!acc) {
                die_opt(name, arg, "Parameter 'accel' is missing");
            }
            static const char *const known[] = { "accel", "kernel-irqchip", "thread",
                                                 "tb-size", NULL };
            Error *err = NULL;
            if (!opts_check_keys(o, known, &err)) {
                die_opt(name, arg, error_get_pretty(err));
            }
            char **names = g_strsplit(acc, ":", -1);
            for (char **q = names; *q; q++) {
                if (strcmp(*q, "kvm") && strcmp(*q, "tcg") && strcmp(*q, "qtest")) {
                    char *m = g_strdup_printf("invalid accelerator %s", *q);
                    die_opt_hint(name, arg, m, "Accepted values: kvm, qtest (a list such as "
                                               "kvm:tcg tries each in turn)");
                }
            }
            g_strfreev(names);
            cfg->accel = g_strdup(acc);
            cfg->accel_opts = o;
            break;
        }
        case OPT_ENABLE_KVM:
            cfg->accel = "kvm";
            break;
        case OPT_MEM:
            cfg->mem_opts = parse_or_die(name, arg, "size");
            if (!opts_get(cfg->mem_opts, "size") && opts_count(cfg->mem_opts) == 0) {
                die_opt(name, arg, "missing 'size' option value");
            }
            opts_set(cfg->mem_opts, "__arg", arg);
            break;
        case OPT_SMP:
            cfg->smp_opts = parse_or_die(name, arg, "cpus");
            break;
        case OPT_CPU:
            cfg->cpu_model = arg;
            break;
        case OPT_KERNEL:
            cfg->kernel = arg;
            break;
        case OPT_INITRD:
            cfg->initrd = arg;
            break;
        case OPT_APPEND:
            cfg->append = arg;
            break;
        case OPT_BIOS:
            cfg->firmware = arg;
            break;
        case OPT_NOGRAPHIC:
            cfg->nographic = true;
            cfg->display = "none";
            break;
        case OPT_DISPLAY: {
            Opts *o = parse_or_die(name, arg, "type");
            const char *t = opts_get(o, "type");
            if (opts_str_is_help(t)) {
                printf("Available display backend types:\nnone\n");
                exit(0);
            }
            if (!t || strcmp(t, "none")) {
                char *m = g_strdup_printf("Parameter 'type' does not accept value '%s'",
                                          t ? t : "");
                die_opt_hint(name, arg, m, "Accepted values: none");
            }
            cfg->display = "none";
            opts_free(o);
            break;
        }
        case OPT_SERIAL:
            g_ptr_array_add(cfg->serials, (gpointer)arg);
            break;
        case OPT_CHARDEV:
            g_ptr_array_add(cfg->chardevs, (gpointer)arg);
            break;
        case OPT_DEVICE: {
            if (opts_str_is_help(arg)) {
                qdev_print_device_list();
                exit(0);
            }
            Opts *o = parse_or_die(name, arg, "driver");
            if (opts_wants_help(o)) {
                const char *drv = opts_get(o, "driver");
                const DeviceClass *dc = drv ? device_type_find(drv) : NULL;
                if (!dc) {
                    char *m = g_strdup_printf("'%s' is not a valid device model name",
                                              drv ? drv : "");
                    die_opt(name, arg, m);
                }
                qdev_print_type_help(dc);
                exit(0);
            }
            opts_free(o);
            g_ptr_array_add(cfg->devices, (gpointer)arg);
            break;
        }
        case OPT_GLOBAL: {
            const char *dot = strchr(arg, '.');
            const char *eq = dot ? strchr(dot, '=') : NULL;
            if (!dot || !eq || dot == arg || eq == dot + 1) {
                die_opt(name, arg, "Invalid global parameter, use driver.property=value");
            }
            char *drv = g_strndup(arg, dot - arg);
            char *prop = g_strndup(dot + 1, eq - dot - 1);
            qdev_add_global(drv, prop, eq + 1);
            g_free(drv);
            g_free(prop);
            break;
        }
        case OPT_NAME: {
            Opts *o = parse_or_die(name, arg, "guest");
            cfg->name = g_strdup(opts_get(o, "guest"));
            opts_free(o);
            break;
        }
        case OPT_UUID:
            cfg->uuid = arg;
            break;
        case OPT_NO_REBOOT:
            cfg->no_reboot = true;
            break;
        case OPT_NO_SHUTDOWN:
            cfg->no_shutdown = true;
            break;
        case OPT_S:
            cfg->start_paused = true;
            break;
        case OPT_NODEFAULTS:
            cfg->nodefaults = true;
            break;
        case OPT_PIDFILE:
            cfg->pidfile = arg;
            break;
        case OPT_DAEMONIZE:
            cfg->daemonize = true;
            break;
        case OPT_VERSION:
            cfg->show_version = true;
            return;
        case OPT_HELP:
            cfg->show_help = true;
            return;
        case OPT_QTEST:
            cfg->qtest = arg;
            break;
        case OPT_QTEST_LOG:
            cfg->qtest_log = arg;
            break;
        case OPT_DRIVE:
            add_drive(cfg, arg);
            break;
        case OPT_HDA:
        case OPT_HDB:
        case OPT_HDC:
        case OPT_HDD: {
            char *d = g_strdup_printf("index=%d,media=disk,file=%s", def->id - OPT_HDA, arg);
            add_drive(cfg, d);
            g_free(d);
            break;
        }
        case OPT_CDROM: {
            char *d = g_strdup_printf("index=2,media=cdrom,file=%s", arg);
            add_drive(cfg, d);
            g_free(d);
            break;
        }
        case OPT_SNAPSHOT:
            cfg->snapshot = true;
            break;
        case OPT_DEBUGCON:
            g_ptr_array_add(cfg->debugcons, (gpointer)arg);
            break;
        case OPT_VGA:
            if (strcmp(arg, "none")) {
                die_opt(name, arg, "VGA devices are not available yet; use -vga none");
            }
            break;
        case OPT_MONITOR:
            if (strcmp(arg, "none")) {
                die_opt(name, arg, "the monitor is not available yet; use -monitor none");
            }
            break;
        case OPT_PARALLEL:
            if (strcmp(arg, "none")) {
                die_opt(name, arg, "parallel ports are not available yet; use -parallel none");
            }
            break;
        case OPT_RTC: {
            Error *err = NULL;
            if (!rtc_configure(arg, &err)) {
                die_opt(name, arg, error_get_pretty(err));
            }
            break;
        }
        case OPT_BOOT:
        case OPT_NO_HPET:
            /* Accepted for compatibility; boot order matters only with firmware. */
            break;
        }
    }
    if (cfg->daemonize && cfg->nographic) {
        error_report("-nographic cannot be used with -daemonize");
        exit(1);
    }
}

/* ---- -m and -smp ---- */

bool mem_parse(const Opts *opts, uint64_t *ram_size, Error **errp)
{
    static const char *const known[] = { "size", "slots", "maxmem", "__arg", NULL };
    if (!opts_check_keys(opts, known, errp)) {
        return false;
    }
    const char *s = opts_get(opts, "size");
    uint64_t sz;
    if (s) {
        if (!parse_size_unit(s, 20, &sz)) {
            error_setg(errp, "Parameter 'size' expects a non-negative number below 2^64");
            error_append_hint(errp, "Optional suffix k, M, G, T, P or E means kilo-, mega-, "
                                    "giga-, tera-, peta-\nand exabytes, respectively.\n");
            return false;
        }
        if (sz == 0) {
            error_setg(errp, "memory size must be greater than zero");
            return false;
        }
        /* Round up to a whole page, as QEMU rounds to 8 KiB. */
        sz = (sz + 0x1fff) & ~0x1fffull;
        *ram_size = sz;
    }
    if (opts_has(opts, "slots")) {
        uint64_t n;
        if (!parse_uint(opts_get(opts, "slots"), &n)) {
            error_setg(errp, "Parameter 'slots' expects a number");
            return false;
        }
    }
    if (opts_has(opts, "maxmem")) {
        uint64_t mm;
        if (!parse_size_unit(opts_get(opts, "maxmem"), 0, &mm)) {
            error_setg(errp, "Parameter 'maxmem' expects a non-negative number below 2^64");
            return false;
        }
        if (mm < *ram_size) {
            error_setg(errp, "invalid value of -m option maxmem: maximum memory size (0x%llx) "
                             "must be at least the initial memory size (0x%llx)",
                       (unsigned long long)mm, (unsigned long long)*ram_size);
            return false;
        }
    }
    return true;
}

bool smp_parse(const Opts *opts, CpuTopology *t, unsigned max_cpus, const char *machine,
               Error **errp)
{
    static const char *const keys[] = { "cpus", "sockets", "dies", "cores", "threads",
                                        "maxcpus", NULL };
    uint64_t v[6] = { 0 };
    bool given[6] = { false };
    if (!opts_check_keys(opts, keys, errp)) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        const char *s = opts_get(opts, keys[i]);
        if (s) {
            if (!parse_uint(s, &v[i]) || v[i] > 0xffffffffu) {
                error_setg(errp, "Parameter 'smp.%s' expects integer", keys[i]);
                return false;
            }
            if (v[i] == 0) {
                error_setg(errp, "Invalid CPU topology: CPU topology parameters must be "
                                 "greater than zero");
                return false;
            }
            given[i] = true;
        }
    }
    unsigned cpus = v[0], sockets = v[1], dies = given[2] ? v[2] : 1, cores = v[3],
             threads = v[4], maxcpus = v[5];
    if (dies != 1) {
        error_setg(errp, "dies not supported by this machine's CPU topology");
        return false;
    }
    if (!given[0] && !given[1] && !given[3] && !given[4] && !given[5]) {
        cpus = 1;
    }
    maxcpus = maxcpus ? maxcpus : cpus;
    threads = threads ? threads : 1;
    cores = cores ? cores : 1;
    if (!sockets) {
        unsigned base = maxcpus ? maxcpus : 1;
        sockets = base / (dies * cores * threads);
        if (sockets == 0) {
            sockets = 1;
        }
    }
    if (!maxcpus) {
        maxcpus = sockets * dies * cores * threads;
    }
    if (!cpus) {
        cpus = maxcpus;
    }
    if ((uint64_t)sockets * dies * cores * threads != maxcpus) {
        error_setg(errp, "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                         "sockets (%u) * dies (%u) * cores (%u) * threads (%u) != maxcpus (%u)",
                   sockets, dies, cores, threads, maxcpus);
        return false;
    }
    if (maxcpus < cpus) {
        error_setg(errp, "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
                         "sockets (%u) * dies (%u) * cores (%u) * threads (%u) == maxcpus (%u) "
                         "< smp_cpus (%u)", sockets, dies, cores, threads, maxcpus, cpus);
        return false;
    }
    if (maxcpus > max_cpus) {
        error_setg(errp, "Invalid SMP CPUs %u. The max CPUs supported by machine '%s' is %u",
                   maxcpus, machine, max_cpus);
        return false;
    }
    t->cpus = cpus;
    t->sockets = sockets;
    t->dies = dies;
    t->cores = cores;
    t->threads = threads;
    t->maxcpus = maxcpus;
    return true;
}

static bool parse_uuid(const char *s, uint8_t out[16])
{
    static const int groups[] = { 8, 4, 4, 4, 12 };
    int pos = 0, n = 0;
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++) {
            if (!g_ascii_isxdigit(s[pos])) {
                return false;
            }
            int hi = g_ascii_xdigit_value(s[pos]);
            if (i % 2 == 0) {
                out[n] = hi << 4;
            } else {
                out[n++] |= hi;
            }
            pos++;
        }
        if (g < 4 && s[pos++] != '-') {
            return false;
        }
    }
    return s[pos] == '\0';
}

MachineState *machine_state_from_config(KemuConfig *cfg, Error **errp)
{
    MachineState *ms = g_new0(MachineState, 1);
    const char *type = cfg->machine_opts ? opts_get(cfg->machine_opts, "type") : NULL;
    const MachineClass *mc = type ? machine_find(type) : machine_default();
    if (!mc) {
        error_setg(errp, "unsupported machine type");
        error_append_hint(errp, "Use -machine help to list supported machines\n");
        return NULL;
    }
    ms->mc = mc;
    ms->acpi = true;
    ms->irqchip = IRQCHIP_ON;
    if (cfg->machine_opts) {
        static const char *const known[] = { "type", "accel", "kernel-irqchip", "acpi", "hpet",
                                             "usb", "graphics", "dump-guest-core", "mem-merge",
                                             "smm", "vmport", "max-ram-below-4g", NULL };
        Error *err = NULL;
        if (!opts_check_keys(cfg->machine_opts, known, &err)) {
            error_propagate(errp, err);
            return NULL;
        }
        const char *acc = opts_get(cfg->machine_opts, "accel");
        if (acc && !cfg->accel) {
            cfg->accel = acc;
        }
        const char *ki = opts_get(cfg->machine_opts, "kernel-irqchip");
        if (ki) {
            if (!strcmp(ki, "on")) {
                ms->irqchip = IRQCHIP_ON;
            } else if (!strcmp(ki, "off")) {
                ms->irqchip = IRQCHIP_OFF;
            } else if (!strcmp(ki, "split")) {
                ms->irqchip = IRQCHIP_SPLIT;
            } else {
                error_setg(errp, "-machine kernel-irqchip=%s: Parameter 'kernel-irqchip' "
                                 "does not accept value '%s'", ki, ki);
                error_append_hint(errp, "Accepted values: on, off, split\n");
                return NULL;
            }
        }
        ms->acpi = opts_get_bool(cfg->machine_opts, "acpi", true, &err);
        if (err) {
            error_propagate(errp, err);
            return NULL;
        }
    }
    if (cfg->accel_opts && opts_has(cfg->accel_opts, "kernel-irqchip")) {
        const char *ki = opts_get(cfg->accel_opts, "kernel-irqchip");
        ms->irqchip = !strcmp(ki, "off") ? IRQCHIP_OFF
                      : !strcmp(ki, "split") ? IRQCHIP_SPLIT : IRQCHIP_ON;
    }
    accel_irqchip_mode = ms->irqchip;

    ms->ram_size = mc->default_ram_size;
    if (cfg->mem_opts) {
        Error *err = NULL;
        if (!mem_parse(cfg->mem_opts, &ms->ram_size, &err)) {
            error_prepend(&err, "-m %s: ", opts_get(cfg->mem_opts, "__arg"));
            error_propagate(errp, err);
            return NULL;
        }
    }
    ms->smp = (CpuTopology){ 1, 1, 1, 1, 1, 1 };
    if (cfg->smp_opts && !smp_parse(cfg->smp_opts, &ms->smp, mc->max_cpus, mc->name, errp)) {
        return NULL;
    }
    if (cfg->cpu_model) {
        if (opts_str_is_help(cfg->cpu_model)) {
            x86_cpu_model_print_list();
            exit(0);
        }
        char *model = g_strndup(cfg->cpu_model, strcspn(cfg->cpu_model, ","));
        if (!x86_cpu_model_find(model)) {
            error_setg(errp, "unable to find CPU model '%s'", model);
            error_append_hint(errp, "Use -cpu help to list them\n");
            g_free(model);
            return NULL;
        }
        if (cfg->cpu_model[strlen(model)] == ',') {
            error_setg(errp, "-cpu %s: CPU feature flags are not supported yet; use a model "
                             "name alone", cfg->cpu_model);
            g_free(model);
            return NULL;
        }
        ms->cpu_model = model;
    } else {
        ms->cpu_model = X86_CPU_MODEL_DEFAULT;
    }
    ms->kernel_filename = g_strdup(cfg->kernel);
    ms->initrd_filename = g_strdup(cfg->initrd);
    ms->kernel_cmdline = g_strdup(cfg->append ? cfg->append : "");
    if (!cfg->kernel && (cfg->initrd || cfg->append)) {
        error_setg(errp, cfg->initrd ? "-initrd only allowed with -kernel option"
                                     : "-append only allowed with -kernel option");
        return NULL;
    }
    ms->firmware = g_strdup(cfg->firmware);
    ms->name = g_strdup(cfg->name);
    if (cfg->uuid) {
        if (!parse_uuid(cfg->uuid, ms->uuid)) {
            error_setg(errp, "-uuid %s: failed to parse UUID string: wrong format", cfg->uuid);
            return NULL;
        }
        ms->has_uuid = true;
    }
    ms->no_reboot = cfg->no_reboot;
    ms->no_shutdown = cfg->no_shutdown;
    ms->nodefaults = cfg->nodefaults;
    return ms;
}

static void *resolve_chardev(const char *id)
{
    return chardev_find(id);
}

/* drive=ID properties take an if=none drive and claim it for the device. */
static void *resolve_drive(const char *id)
{
    DriveInfo *d = drive_get_by_id(id);
    if (!d || !drive_claim(d, NULL)) {
        return NULL;
    }
    return d->blk;
}

bool drives_check_claimed(Error **errp)
{
    for (GList *l = drive_list(); l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->claimed) {
            continue;
        }
        if (d->type != IF_NONE) {
            /* No device model takes this interface yet: say so instead of ignoring it. */
            error_setg(errp, "machine type does not support if=%s,bus=%d,unit=%d",
                       drive_if_name(d->type), d->bus, d->unit);
            return false;
        }
        warn_report("Orphaned drive without device: id=%s,file=%s,if=none,bus=0,unit=0",
                    d->id, d->filename ? d->filename : "");
    }
    return true;
}

void chardevs_from_config(KemuConfig *cfg, Error **errp)
{
    qdev_set_resolver(PROP_CHARDEV, resolve_chardev);
    if (cfg->nographic) {
        chardev_stdio_set_signal(false);
    }
    for (guint i = 0; i < cfg->chardevs->len; i++) {
        const char *s = g_ptr_array_index(cfg->chardevs, i);
        Error *err = NULL;
        Opts *o = opts_parse(s, "backend", &err);
        if (o && opts_str_is_help(opts_get(o, "backend"))) {
            chardev_print_backends();
            exit(0);
        }
        char *loc = g_strdup_printf("-chardev %s", s);
        error_set_location(loc);        /* for info messages while it opens */
        g_free(loc);
        bool ok = o && chardev_new_from_opts(o, &err);
        error_set_location(NULL);
        if (!ok) {
            error_prepend(&err, "-chardev %s: ", s);
            error_propagate(errp, err);
            opts_free(o);
            return;
        }
        opts_free(o);
    }
    qdev_set_resolver(PROP_DRIVE, resolve_drive);
    drive_set_snapshot_all(cfg->snapshot);
    for (guint i = 0; i < cfg->drives->len; i++) {
        const char *s = g_ptr_array_index(cfg->drives, i);
        Error *err = NULL;
        if (!drive_new(s, IF_IDE, &err)) {
            error_prepend(&err, "-drive %s: ", s);
            error_propagate(errp, err);
            return;
        }
    }
}

static bool serial_add(int index, const char *spec, Error **errp)
{
    if (!strcmp(spec, "none")) {
        return true;
    }
    char *id = g_strdup_printf("serial%d", index);
    char *loc = g_strdup_printf("-serial %s", spec);
    error_set_location(loc);            /* for info messages while it opens */
    Chardev *chr = chardev_new_legacy(spec, id, errp);
    error_set_location(NULL);
    g_free(loc);
    g_free(id);
    if (!chr) {
        return false;
    }
    DeviceState *dev = qdev_new("isa-serial", errp);
    if (!dev) {
        return false;
    }
    if (!qdev_prop_set_uint(dev, "index", index, errp)) {
        return false;
    }
    qdev_prop_set_ptr(dev, "chardev", chr);
    return qdev_realize(dev, isa_bus_get(), errp);
}

void serial_connect_from_config(KemuConfig *cfg, Error **errp)
{
    if (cfg->serials->len > 4) {
        error_setg(errp, "too many serial ports (max 4)");
        return;
    }
    if (cfg->serials->len == 0 && !cfg->nodefaults) {
        /* Default serial port: stdio multiplexed with the monitor under -nographic;
         * otherwise a virtual console, which without a display goes nowhere. */
        Error *err = NULL;
        if (!serial_add(0, cfg->nographic ? "mon:stdio" : "null", &err)) {
            error_propagate(errp, err);
            return;
        }
    }
    for (guint i = 0; i < cfg->serials->len; i++) {
        const char *spec = g_ptr_array_index(cfg->serials, i);
        Error *err = NULL;
        if (!serial_add(i, spec, &err)) {
            error_prepend(&err, "-serial %s: ", spec);
            error_propagate(errp, err);
            return;
        }
    }
    for (guint i = 0; i < cfg->debugcons->len; i++) {
        const char *spec = g_ptr_array_index(cfg->debugcons, i);
        Error *err = NULL;
        char *id = g_strdup_printf("debugcon%u", i);
        char *loc = g_strdup_printf("-debugcon %s", spec);
        error_set_location(loc);
        Chardev *chr = chardev_new_legacy(spec, id, &err);
        error_set_location(NULL);
        g_free(loc);
        g_free(id);
        DeviceState *dev = chr ? qdev_new("isa-debugcon", &err) : NULL;
        if (dev) {
            qdev_prop_set_ptr(dev, "chardev", chr);
        }
        if (!dev || !qdev_realize(dev, isa_bus_get(), &err)) {
            error_prepend(&err, "-debugcon %s: ", spec);
            error_propagate(errp, err);
            return;
        }
    }
}

bool device_add_from_string(const char *str, Error **errp)
{
    Opts *o = opts_parse(str, "driver", errp);
    if (!o) {
        return false;
    }
    const char *driver = opts_get(o, "driver");
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        opts_free(o);
        return false;
    }
    const DeviceClass *dc = device_type_find(driver);
    if (!dc || !dc->user_creatable) {
        error_setg(errp, dc ? "Parameter 'driver' expects a pluggable device type"
                            : "'%s' is not a valid device model name", driver);
        error_append_hint(errp, "Use -device help to list them\n");
        opts_free(o);
        return false;
    }
    DeviceState *dev = qdev_new(driver, errp);
    if (!dev) {
        opts_free(o);
        return false;
    }
    BusState *bus = dc->bus_type ? bus_find_by_type(dc->bus_type) : NULL;
    if (dc->bus_type && !bus) {
        error_setg(errp, "No '%s' bus found for device '%s'", dc->bus_type, driver);
        opts_free(o);
        return false;
    }
    for (size_t i = 0; i < opts_count(o); i++) {
        const char *k = opts_key_at(o, i), *v = opts_value_at(o, i);
        if (!strcmp(k, "driver") || !strcmp(k, "bus")) {
            continue;
        }
        if (!strcmp(k, "id")) {
            dev->id = g_strdup(v);
            continue;
        }
        if (!qdev_prop_set(dev, k, v, errp)) {
            opts_free(o);
            return false;
        }
    }
    opts_free(o);
    return qdev_realize(dev, bus, errp);
}
