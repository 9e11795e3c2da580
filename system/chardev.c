/*
 * Character device core and the null, file and stdio backends, plus the legacy
 * "-serial SPEC" syntax.  Backends deliver input through chardev_deliver_input,
 * which honours the frontend's can_read (excess input stays in the kernel's
 * buffer: the fd handler is paused until the frontend accepts more).
 */
#include "system/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib.h>

#include "system/main-loop.h"

static GPtrArray *classes;
static Chardev *chardevs;

void chardev_register_class(const ChardevClass *cls)
{
    if (!classes) {
        classes = g_ptr_array_new();
    }
    g_ptr_array_add(classes, (gpointer)cls);
}

static const ChardevClass *chardev_class_find(const char *name)
{
    for (guint i = 0; classes && i < classes->len; i++) {
        const ChardevClass *c = g_ptr_array_index(classes, i);
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

void chardev_print_backends(void)
{
    printf("Available chardev backend types: \n");
    for (guint i = 0; classes && i < classes->len; i++) {
        const ChardevClass *c = g_ptr_array_index(classes, i);
        printf("  %s\n", c->name);
    }
}

Chardev *chardev_find(const char *id)
{
    for (Chardev *c = chardevs; c; c = c->next) {
        if (!strcmp(c->id, id)) {
            return c;
        }
    }
    return NULL;
}

static Chardev *chardev_create(const ChardevClass *cls, const char *id, const Opts *opts,
                               Error **errp)
{
    if (chardev_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object (type 'container')",
                   id);
        return NULL;
    }
    size_t sz = cls->instance_size ? cls->instance_size : sizeof(Chardev);
    Chardev *chr = g_malloc0(sz);
    chr->cls = cls;
    chr->id = g_strdup(id);
    if (cls->open && !cls->open(chr, opts, errp)) {
        g_free(chr->id);
        g_free(chr);
        return NULL;
    }
    Chardev **pp = &chardevs;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = chr;
    return chr;
}

Chardev *chardev_new_from_opts(const Opts *opts, Error **errp)
{
    const char *backend = opts_get(opts, "backend");
    const char *id = opts_get(opts, "id");
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", id ? id : "");
        return NULL;
    }
    if (opts_str_is_help(backend)) {
        chardev_print_backends();
        exit(0);
    }
    const ChardevClass *cls = chardev_class_find(backend);
    if (!cls) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        error_append_hint(errp, "Use -chardev help to list them\n");
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    return chardev_create(cls, id, opts, errp);
}

Chardev *chardev_new_legacy(const char *spec, const char *id, Error **errp)
{
    Opts *o = opts_new();
    Chardev *chr = NULL;
    const char *backend = spec;
    const char *colon = strchr(spec, ':');
    char *prefix = colon ? g_strndup(spec, colon - spec) : g_strdup(spec);

    if (!strcmp(prefix, "mon")) {
        /* mon:DEV: a mux shared with the monitor */
        Chardev *inner_spec_chr;
        opts_free(o);
        g_free(prefix);
        char *inner_id = g_strdup_printf("%s-base", id);
        inner_spec_chr = chardev_new_legacy(colon + 1, inner_id, errp);
        g_free(inner_id);
        if (!inner_spec_chr) {
            return NULL;
        }
        Opts *mo = opts_new();
        opts_set(mo, "chardev", inner_spec_chr->id);
        chr = chardev_create(chardev_class_find("mux"), id, mo, errp);
        opts_free(mo);
        return chr;
    }
    if (!strcmp(prefix, "file") && colon) {
        backend = "file";
        opts_set(o, "path", colon + 1);
    } else if (!strcmp(spec, "stdio") || !strcmp(spec, "null") || !strcmp(spec, "pty")) {
        backend = spec;
    } else if (!strcmp(prefix, "chardev") && colon) {
        chr = chardev_find(colon + 1);
        if (!chr) {
            error_setg(errp, "chardev: '%s' not found", colon + 1);
        }
        opts_free(o);
        g_free(prefix);
        return chr;
    } else if ((!strcmp(prefix, "unix") || !strcmp(prefix, "tcp")) && colon) {
        backend = "socket";
        Opts *so = opts_parse(colon + 1, !strcmp(prefix, "unix") ? "path" : "host", errp);
        if (!so) {
            opts_free(o);
            g_free(prefix);
            return NULL;
        }
        opts_free(o);
        o = so;
        if (!strcmp(prefix, "tcp")) {
            /* host:port */
            const char *hp = opts_get(o, "host");
            const char *c2 = hp ? strrchr(hp, ':') : NULL;
            if (c2) {
                char *host = g_strndup(hp, c2 - hp);
                char *port = g_strdup(c2 + 1);
                opts_del(o, "host");
                opts_set(o, "host", host);
                opts_set(o, "port", port);
                g_free(host);
                g_free(port);
            }
        }
    } else {
        error_setg(errp, "'%s' is not a valid char driver", spec);
        error_append_hint(errp, "Accepted values: stdio, null, none, file:PATH, chardev:ID, "
                                "mon:DEV\n");
        opts_free(o);
        g_free(prefix);
        return NULL;
    }
    g_free(prefix);
    const ChardevClass *cls = chardev_class_find(backend);
    if (!cls) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        opts_free(o);
        return NULL;
    }
    chr = chardev_create(cls, id, o, errp);
    opts_free(o);
    return chr;
}

bool chardev_attach(Chardev *chr, CharFrontend *fe, Error **errp)
{
    if (chr->cls->attach) {
        return chr->cls->attach(chr, fe, errp);
    }
    if (chr->fe_taken) {
        error_setg(errp, "Device '%s' is in use", chr->id);
        return false;
    }
    chr->fe = fe;
    chr->fe_taken = true;
    chardev_accept_input(chr);
    return true;
}

int chardev_write_all(Chardev *chr, const uint8_t *buf, int len)
{
    int done = 0;
    if (!chr || !chr->cls->write) {
        return len;
    }
    while (done < len) {
        int n = chr->cls->write(chr, buf + done, len - done);
        if (n <= 0) {
            return done ? done : n;
        }
        done += n;
    }
    return done;
}

void chardev_accept_input(Chardev *chr)
{
    if (chr && chr->cls->accept_input) {
        chr->cls->accept_input(chr);
    }
}

int chardev_deliver_input(Chardev *chr, const uint8_t *buf, int len)
{
    CharFrontend *fe = chr->fe;
    if (!fe || !fe->read) {
        return len; /* nobody listens: drop */
    }
    int room = fe->can_read ? fe->can_read(fe->opaque) : len;
    int n = MIN(room, len);
    if (n > 0) {
        fe->read(fe->opaque, buf, n);
    }
    return n;
}

void chardev_deliver_event(Chardev *chr, ChardevEvent ev)
{
    if (chr->fe && chr->fe->event) {
        chr->fe->event(chr->fe->opaque, ev);
    }
}

void chardev_close_all(void)
{
    for (Chardev *c = chardevs; c; c = c->next) {
        if (c->cls->close) {
            c->cls->close(c);
        }
    }
}

/* ---- fd-based backends (file, stdio) ---- */

typedef struct FdChardev {
    Chardev parent;
    int in_fd, out_fd;
    uint8_t pending[256];
    int pending_len, pending_off;
    bool reading;
} FdChardev;

static int fd_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    FdChardev *s = (FdChardev *)chr;
    for (;;) {
        ssize_t n = write(s->out_fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            /* Blocking semantics for a full terminal/pipe: wait briefly. */
            g_usleep(1000);
            continue;
        }
        return n < 0 ? -1 : (int)n;
    }
}

static void fd_chr_update_handler(FdChardev *s);

static void fd_chr_flush_pending(FdChardev *s)
{
    while (s->pending_off < s->pending_len) {
        int n = chardev_deliver_input(&s->parent, s->pending + s->pending_off,
                                      s->pending_len - s->pending_off);
        if (n <= 0) {
            break;
        }
        s->pending_off += n;
    }
}

static void fd_chr_read(void *opaque)
{
    FdChardev *s = opaque;
    fd_chr_flush_pending(s);
    if (s->pending_off < s->pending_len) {
        fd_chr_update_handler(s);
        return;
    }
    ssize_t n = read(s->in_fd, s->pending, sizeof(s->pending));
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        /* EOF: stop reading and tell the frontend */
        main_loop_set_fd_handler(s->in_fd, NULL, NULL, NULL);
        s->reading = false;
        chardev_deliver_event(&s->parent, CHR_EVENT_CLOSED);
        return;
    }
    s->pending_len = n;
    s->pending_off = 0;
    fd_chr_flush_pending(s);
    fd_chr_update_handler(s);
}

static void fd_chr_update_handler(FdChardev *s)
{
    if (s->in_fd < 0) {
        return;
    }
    CharFrontend *fe = s->parent.fe;
    bool want = fe && fe->read && s->pending_off >= s->pending_len &&
                (!fe->can_read || fe->can_read(fe->opaque) > 0);
    if (want && !s->reading) {
        main_loop_set_fd_handler(s->in_fd, fd_chr_read, NULL, s);
        s->reading = true;
    } else if (!want && s->reading) {
        main_loop_set_fd_handler(s->in_fd, NULL, NULL, NULL);
        s->reading = false;
    }
}

static void fd_chr_accept_input(Chardev *chr)
{
    FdChardev *s = (FdChardev *)chr;
    fd_chr_flush_pending(s);
    fd_chr_update_handler(s);
}

static bool file_chr_open(Chardev *chr, const Opts *opts, Error **errp)
{
    FdChardev *s = (FdChardev *)chr;
    const char *path = opts_get(opts, "path");
    bool append = opts_get_bool(opts, "append", false, NULL);
    if (!path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    s->out_fd = fd;
    s->in_fd = -1;
    const char *in = opts_get(opts, "input-path");
    if (in) {
        s->in_fd = open(in, O_RDONLY | O_CLOEXEC);
        if (s->in_fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", in);
            close(fd);
            return false;
        }
    }
    return true;
}

static void fd_chr_close(Chardev *chr)
{
    FdChardev *s = (FdChardev *)chr;
    if (s->reading) {
        main_loop_set_fd_handler(s->in_fd, NULL, NULL, NULL);
        s->reading = false;
    }
}

static const ChardevClass file_chardev = {
    .name = "file",
    .open = file_chr_open,
    .write = fd_chr_write,
    .accept_input = fd_chr_accept_input,
    .close = fd_chr_close,
    .instance_size = sizeof(FdChardev),
};

/* stdio: one per process; the terminal is put in raw mode and restored at exit. */
static struct termios stdio_saved_tty;
static bool stdio_tty_modified;
static bool stdio_in_use;

static void stdio_restore_tty(void)
{
    if (stdio_tty_modified) {
        tcsetattr(0, TCSANOW, &stdio_saved_tty);
        stdio_tty_modified = false;
    }
}

void chardev_stdio_set_signal(bool allow_signals);
static bool stdio_signal = true;

void chardev_stdio_set_signal(bool allow_signals)
{
    stdio_signal = allow_signals;
}

static bool stdio_chr_open(Chardev *chr, const Opts *opts, Error **errp)
{
    FdChardev *s = (FdChardev *)chr;
    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    stdio_in_use = true;
    s->in_fd = 0;
    s->out_fd = 1;
    bool sig = opts_get_bool(opts, "signal", stdio_signal, errp);
    if (isatty(0) && tcgetattr(0, &stdio_saved_tty) == 0) {
        struct termios tty = stdio_saved_tty;
        tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        tty.c_oflag |= OPOST;
        tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
        if (!sig) {
            tty.c_lflag &= ~ISIG;
        }
        tty.c_cflag &= ~(CSIZE | PARENB);
        tty.c_cflag |= CS8;
        tty.c_cc[VMIN] = 1;
        tty.c_cc[VTIME] = 0;
        tcsetattr(0, TCSANOW, &tty);
        stdio_tty_modified = true;
        atexit(stdio_restore_tty);
    }
    return true;
}

static const ChardevClass stdio_chardev = {
    .name = "stdio",
    .open = stdio_chr_open,
    .write = fd_chr_write,
    .accept_input = fd_chr_accept_input,
    .close = fd_chr_close,
    .instance_size = sizeof(FdChardev),
};

static int null_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

static const ChardevClass null_chardev = {
    .name = "null",
    .write = null_chr_write,
};

static void __attribute__((constructor)) chardev_register_builtin(void)
{
    chardev_register_class(&file_chardev);
    chardev_register_class(&null_chardev);
    chardev_register_class(&stdio_chardev);
}
