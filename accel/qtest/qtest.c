/*
 * qtest accelerator and protocol server, following QEMU's public qtest protocol
 * (QEMU docs/devel/qtest.rst): no vCPU runs; a test sends newline-terminated
 * commands and gets one reply line each ("OK [value]" or "FAIL reason"):
 *
 *   outb|outw|outl ADDR VALUE          -> OK
 *   inb|inw|inl ADDR                   -> OK 0x%04x
 *   writeb|writew|writel|writeq A V    -> OK
 *   readb|readw|readl|readq ADDR       -> OK 0x%016x
 *   read ADDR SIZE                     -> OK 0x<hex bytes>
 *   write ADDR SIZE 0x<hex bytes>      -> OK   (missing bytes are written as 0)
 *   b64read ADDR SIZE                  -> OK <base64>
 *   b64write ADDR SIZE <base64>        -> OK
 *   memset ADDR SIZE VALUE             -> OK
 *   clock_step [NS]                    -> OK <new virtual time>  (no NS: next deadline)
 *   clock_set NS                       -> OK <new virtual time>
 *   irq_intercept_in|irq_intercept_out PATH -> OK
 *   endianness                         -> OK little
 *
 * Interrupts: the machine routes its GSI lines to the accelerator's set_irq hook
 * (this accelerator says its irqchip is "in kernel", so no userspace interrupt
 * controller consumes them).  Once intercepted (either irq_intercept_in or _out, the
 * PATH is accepted as given: there is a single GSI space), every level change is sent
 * asynchronously as "IRQ raise N" / "IRQ lower N", before the reply of the command
 * that caused it.
 *
 * The virtual clock is manual (clock_virtual_set_manual): it moves only with
 * clock_step/clock_set, which run the timers that expire on the way.
 *
 * Transport: a chardev given in -serial's syntax (system/chardev-socket.c for
 * sockets): "-qtest unix:PATH" connects to a test listening on PATH (as QEMU's
 * libqtest does), "unix:PATH,server=on" listens and waits for one connection,
 * "stdio" talks on the terminal, and so on.  When the test closes
 * the connection, the emulator exits (status 0).  The log ("-qtest-log FILE"; stderr
 * when absent, "none" for no log) records each received line as "[R +secs] line" and
 * each sent line as "[S +secs] line", as QEMU does.
 */
#include "system/timer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "hw/i386/cpu.h"
#include "system/accel.h"
#include "system/chardev.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/qtest.h"
#include "system/runstate.h"

#define QTEST_MAX_GSI 256
#define QTEST_MAX_RW  (256u << 20) /* largest read/write/memset accepted */

typedef struct QTestServer {
    Chardev *chr;              /* the transport (a socket or any other chardev) */
    CharFrontend fe;
    GString *inbuf;
    FILE *log;
    int64_t start_ns;
    bool intercepting;
    bool active;
} QTestServer;

static QTestServer qts;
static int8_t qtest_irq_levels[QTEST_MAX_GSI];
static GMutex qtest_vcpu_lock;
static GCond qtest_vcpu_cond;
static const AccelClass qtest_accel;

bool qtest_enabled(void)
{
    return current_accel() == &qtest_accel;
}

/* ---- transport and log --------------------------------------------------------- */

static double qtest_elapsed(void)
{
    return (get_clock_realtime() - qts.start_ns) / 1e9;
}

static void qtest_log_line(char dir, const char *line, size_t len)
{
    if (qts.log) {
        fprintf(qts.log, "[%c +%0.6f] %.*s\n", dir, qtest_elapsed(), (int)len, line);
        fflush(qts.log);
    }
}

static void qtest_send_raw(const char *buf, size_t len)
{
    if (qts.chr) {
        chardev_write_all(qts.chr, (const uint8_t *)buf, (int)len);
    }
}

static void G_GNUC_PRINTF(1, 2) qtest_sendf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    size_t len = strlen(s);
    qtest_log_line('S', s, len && s[len - 1] == '\n' ? len - 1 : len);
    qtest_send_raw(s, len);
    g_free(s);
}

/* ---- interrupts ------------------------------------------------------------------ */

static void qtest_set_irq(int gsi, int level)
{
    if (gsi < 0 || gsi >= QTEST_MAX_GSI) {
        return;
    }
    level = !!level;
    if (qtest_irq_levels[gsi] == level) {
        return;
    }
    qtest_irq_levels[gsi] = (int8_t)level;
    if (qts.intercepting && qts.active) {
        qtest_sendf("IRQ %s %d\n", level ? "raise" : "lower", gsi);
    }
}

static void qtest_send_msi(uint64_t addr, uint32_t data)
{
    /* No interrupt controller here: MSIs are dropped. */
}

/* ---- command parsing --------------------------------------------------------- */

static bool qtest_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

static bool qtest_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) {
        return false;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

static int qtest_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static unsigned qtest_access_size(char suffix)
{
    switch (suffix) {
    case 'b':
        return 1;
    case 'w':
        return 2;
    case 'l':
        return 4;
    case 'q':
        return 8;
    }
    return 0;
}

static void qtest_cmd_io(char **w, int n)
{
    bool is_out = w[0][0] == 'o';
    unsigned size = qtest_access_size(w[0][strlen(w[0]) - 1]);
    uint64_t addr, val = 0;

    if (n != (is_out ? 3 : 2) || !qtest_parse_u64(w[1], &addr) ||
        (is_out && !qtest_parse_u64(w[2], &val))) {
        qtest_sendf("FAIL malformed %s command\n", w[0]);
        return;
    }
    if (addr > 0xffff) {
        qtest_sendf("FAIL I/O port address 0x%" PRIx64 " out of range\n", addr);
        return;
    }
    if (is_out) {
        val &= size == 4 ? 0xffffffffull : ((1ull << (size * 8)) - 1);
        address_space_ldst(&address_space_io, addr, &val, size, true);
        qtest_sendf("OK\n");
    } else {
        address_space_ldst(&address_space_io, addr, &val, size, false);
        val &= size == 4 ? 0xffffffffull : ((1ull << (size * 8)) - 1);
        qtest_sendf("OK 0x%04" PRIx64 "\n", val);
    }
}

static void qtest_cmd_mem(char **w, int n)
{
    bool is_write = w[0][0] == 'w';
    unsigned size = qtest_access_size(w[0][strlen(w[0]) - 1]);
    uint64_t addr, val = 0;

    if (n != (is_write ? 3 : 2) || !qtest_parse_u64(w[1], &addr) ||
        (is_write && !qtest_parse_u64(w[2], &val))) {
        qtest_sendf("FAIL malformed %s command\n", w[0]);
        return;
    }
    if (size < 8) {
        val &= (1ull << (size * 8)) - 1;
    }
    address_space_ldst(&address_space_memory, addr, &val, size, is_write);
    if (is_write) {
        qtest_sendf("OK\n");
    } else {
        qtest_sendf("OK 0x%016" PRIx64 "\n", val);
    }
}

static bool qtest_parse_range(char **w, int n, int want, uint64_t *addr, uint64_t *len)
{
    if (n != want || !qtest_parse_u64(w[1], addr) || !qtest_parse_u64(w[2], len) ||
        *len == 0 || *len > QTEST_MAX_RW) {
        qtest_sendf("FAIL malformed %s command\n", w[0]);
        return false;
    }
    return true;
}

static void qtest_cmd_read(char **w, int n, bool b64)
{
    uint64_t addr, len;

    if (!qtest_parse_range(w, n, 3, &addr, &len)) {
        return;
    }
    uint8_t *buf = g_malloc(len);
    address_space_read(&address_space_memory, addr, buf, len);
    if (b64) {
        char *enc = g_base64_encode(buf, len);
        qtest_sendf("OK %s\n", enc);
        g_free(enc);
    } else {
        static const char hex[] = "0123456789abcdef";
        char *out = g_malloc(len * 2 + 1);
        for (uint64_t i = 0; i < len; i++) {
            out[2 * i] = hex[buf[i] >> 4];
            out[2 * i + 1] = hex[buf[i] & 15];
        }
        out[len * 2] = 0;
        qtest_sendf("OK 0x%s\n", out);
        g_free(out);
    }
    g_free(buf);
}

static void qtest_cmd_write(char **w, int n, bool b64)
{
    uint64_t addr, len;

    if (!qtest_parse_range(w, n, 4, &addr, &len)) {
        return;
    }
    uint8_t *buf = g_malloc0(len);
    if (b64) {
        gsize dlen = 0;
        guchar *dec = g_base64_decode(w[3], &dlen);
        memcpy(buf, dec, dlen < len ? dlen : len);
        g_free(dec);
    } else {
        const char *hex = w[3];
        if (hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X')) {
            qtest_sendf("FAIL data must start with 0x\n");
            g_free(buf);
            return;
        }
        hex += 2;
        size_t hlen = strlen(hex);
        for (uint64_t i = 0; i < len && 2 * i + 1 < hlen; i++) {
            int hi = qtest_hexval(hex[2 * i]), lo = qtest_hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                qtest_sendf("FAIL invalid hex data\n");
                g_free(buf);
                return;
            }
            buf[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    address_space_write(&address_space_memory, addr, buf, len);
    g_free(buf);
    qtest_sendf("OK\n");
}

static void qtest_cmd_memset(char **w, int n)
{
    uint64_t addr, len, val;

    if (!qtest_parse_range(w, n, 4, &addr, &len)) {
        return;
    }
    if (!qtest_parse_u64(w[3], &val)) {
        qtest_sendf("FAIL malformed memset command\n");
        return;
    }
    uint8_t *buf = g_malloc(len);
    memset(buf, (int)(val & 0xff), len);
    address_space_write(&address_space_memory, addr, buf, len);
    g_free(buf);
    qtest_sendf("OK\n");
}

static void qtest_cmd_clock(char **w, int n)
{
    int64_t ns = 0;
    int64_t now;

    if (!strcmp(w[0], "clock_step")) {
        if (n > 2 || (n == 2 && (!qtest_parse_i64(w[1], &ns) || ns < 0))) {
            qtest_sendf("FAIL malformed clock_step command\n");
            return;
        }
        if (ns > INT64_MAX - clock_get_ns(KEMU_CLOCK_VIRTUAL)) {
            qtest_sendf("FAIL clock_step: %" PRIi64 " ns is too far\n", ns);
            return;
        }
        if (n == 1 || ns == 0) {
            /* Step to the next timer deadline (0: no timer pending, nothing moves). */
            now = clock_virtual_next_deadline() >= 0 ? clock_virtual_step(0)
                                                       : clock_get_ns(KEMU_CLOCK_VIRTUAL);
        } else {
            now = clock_virtual_step(ns);
        }
    } else {
        if (n != 2 || !qtest_parse_i64(w[1], &ns)) {
            qtest_sendf("FAIL malformed clock_set command\n");
            return;
        }
        now = clock_get_ns(KEMU_CLOCK_VIRTUAL);
        if (ns > now) {
            now = clock_virtual_step(ns - now);
        }
    }
    qtest_sendf("OK %" PRIi64 "\n", now);
}

static void qtest_process_line(char *line)
{
    char **w = g_strsplit_set(g_strstrip(line), " \t", -1);
    int n = 0;

    /* Drop empty words from repeated spaces. */
    for (int i = 0; w[i]; i++) {
        if (*w[i]) {
            w[n++] = w[i];
        } else {
            g_free(w[i]);
        }
    }
    w[n] = NULL;
    if (n == 0) {
        g_strfreev(w);
        return;
    }
    const char *c = w[0];
    if (!strcmp(c, "outb") || !strcmp(c, "outw") || !strcmp(c, "outl") ||
        !strcmp(c, "inb") || !strcmp(c, "inw") || !strcmp(c, "inl")) {
        qtest_cmd_io(w, n);
    } else if (!strcmp(c, "writeb") || !strcmp(c, "writew") || !strcmp(c, "writel") ||
               !strcmp(c, "writeq") || !strcmp(c, "readb") || !strcmp(c, "readw") ||
               !strcmp(c, "readl") || !strcmp(c, "readq")) {
        qtest_cmd_mem(w, n);
    } else if (!strcmp(c, "read") || !strcmp(c, "b64read")) {
        qtest_cmd_read(w, n, c[0] == 'b');
    } else if (!strcmp(c, "write") || !strcmp(c, "b64write")) {
        qtest_cmd_write(w, n, c[0] == 'b');
    } else if (!strcmp(c, "memset")) {
        qtest_cmd_memset(w, n);
    } else if (!strcmp(c, "clock_step") || !strcmp(c, "clock_set")) {
        qtest_cmd_clock(w, n);
    } else if (!strcmp(c, "irq_intercept_in") || !strcmp(c, "irq_intercept_out")) {
        if (n != 2) {
            qtest_sendf("FAIL malformed %s command\n", c);
        } else {
            qts.intercepting = true;
            qtest_sendf("OK\n");
        }
    } else if (!strcmp(c, "endianness")) {
        qtest_sendf("OK little\n");
    } else {
        qtest_sendf("FAIL Unknown command '%s'\n", c);
    }
    g_strfreev(w);
}

static void qtest_feed(const uint8_t *buf, size_t len)
{
    g_string_append_len(qts.inbuf, (const char *)buf, (gssize)len);
    char *nl;
    while ((nl = memchr(qts.inbuf->str, '\n', qts.inbuf->len)) != NULL) {
        size_t linelen = (size_t)(nl - qts.inbuf->str);
        char *line = g_strndup(qts.inbuf->str, linelen);
        g_string_erase(qts.inbuf, 0, (gssize)linelen + 1);
        qtest_log_line('R', line, strlen(line));
        qtest_process_line(line);
        g_free(line);
    }
}

static void qtest_closed(void)
{
    qtest_log_line('I', "CLOSED", 6);
    qts.active = false;
    system_exit_request(0);
}

static int qtest_chr_can_read(void *opaque)
{
    return 4096;
}

static void qtest_chr_read(void *opaque, const uint8_t *buf, int len)
{
    qtest_feed(buf, (size_t)len);
}

static void qtest_chr_event(void *opaque, ChardevEvent ev)
{
    if (ev == CHR_EVENT_CLOSED) {
        qtest_closed();
    }
}

bool qtest_server_init(const char *spec, const char *logfile, Error **errp)
{
    qts.start_ns = get_clock_realtime();
    if (!logfile) {
        qts.log = stderr;
    } else if (strcmp(logfile, "none") != 0) {
        qts.log = fopen(logfile, "w");
        if (!qts.log) {
            error_setg_errno(errp, errno, "-qtest-log: cannot open '%s'", logfile);
            return false;
        }
    }
    qts.inbuf = g_string_new(NULL);

    qts.chr = chardev_new_legacy(spec, "qtest", errp);
    if (!qts.chr) {
        return false;
    }
    qts.fe.can_read = qtest_chr_can_read;
    qts.fe.read = qtest_chr_read;
    qts.fe.event = qtest_chr_event;
    qts.fe.opaque = &qts;
    if (!chardev_attach(qts.chr, &qts.fe, errp)) {
        return false;
    }
    qts.active = true;
    qtest_log_line('I', "OPENED", 6);
    return true;
}

/* ---- accelerator ----------------------------------------------------------------- */

static bool qtest_available(void)
{
    return true;
}

static bool qtest_accel_init(MachineState *ms, const Opts *opts, Error **errp)
{
    clock_virtual_set_manual(true);
    return true;
}

static bool qtest_init_vcpu(X86CPU *cpu, Error **errp)
{
    return true;
}

/* No guest code runs: the vCPU thread sleeps until it is kicked (pause, quit). */
static bool qtest_vcpu_exec(X86CPU *cpu)
{
    g_mutex_lock(&qtest_vcpu_lock);
    while (!cpu->exit_request) {
        g_cond_wait(&qtest_vcpu_cond, &qtest_vcpu_lock);
    }
    g_mutex_unlock(&qtest_vcpu_lock);
    return false;
}

static void qtest_vcpu_kick(X86CPU *cpu)
{
    g_mutex_lock(&qtest_vcpu_lock);
    g_cond_broadcast(&qtest_vcpu_cond);
    g_mutex_unlock(&qtest_vcpu_lock);
}

static bool qtest_irqchip_in_kernel(void)
{
    return true; /* GSIs go to qtest_set_irq, where the test observes them */
}

static void qtest_shutdown(void)
{
    if (qts.log && qts.log != stderr) {
        fclose(qts.log);
        qts.log = NULL;
    }
}

static const AccelClass qtest_accel = {
    .name = "qtest",
    .available = qtest_available,
    .init = qtest_accel_init,
    .init_vcpu = qtest_init_vcpu,
    .vcpu_exec = qtest_vcpu_exec,
    .vcpu_kick = qtest_vcpu_kick,
    .irqchip_in_kernel = qtest_irqchip_in_kernel,
    .set_irq = qtest_set_irq,
    .send_msi = qtest_send_msi,
    .shutdown = qtest_shutdown,
};

static void __attribute__((constructor)) qtest_accel_register(void)
{
    accel_register(&qtest_accel);
}
