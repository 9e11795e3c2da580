/*
 * Multiplexer chardev: several frontends (serial port, monitor) share one
 * backend; input goes to the focused one.  Escape sequences after C-a follow
 * QEMU's documented -nographic keys: h help, x exit, s sync disks, t toggle
 * timestamps, b break, c switch focus, C-a a literal C-a.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "system/chardev.h"
#include "system/runstate.h"

#define MUX_MAX 4
#define MUX_ESCAPE 0x01 /* C-a */

typedef struct MuxChardev {
    Chardev parent;
    Chardev *base;
    CharFrontend base_fe;
    CharFrontend *fes[MUX_MAX];
    int nfes;
    int focus;
    bool escape_pending;
    bool timestamps;
} MuxChardev;

static int mux_write(Chardev *chr, const uint8_t *buf, int len)
{
    MuxChardev *m = (MuxChardev *)chr;
    return chardev_write_all(m->base, buf, len);
}

static void mux_print(MuxChardev *m, const char *s)
{
    chardev_write_all(m->base, (const uint8_t *)s, strlen(s));
}

static void mux_help(MuxChardev *m)
{
    static const char *const lines[] = {
        "C-a h    print this help\n\r",
        "C-a x    exit emulator\n\r",
        "C-a s    save disk data back to file (if -snapshot)\n\r",
        "C-a t    toggle console timestamps\n\r",
        "C-a b    send break (magic sysrq)\n\r",
        "C-a c    switch between console and monitor\n\r",
        "C-a C-a  sends C-a\n\r",
    };
    mux_print(m, "\n\r");
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        mux_print(m, lines[i]);
    }
}

static void mux_set_focus(MuxChardev *m, int focus)
{
    if (m->nfes == 0) {
        return;
    }
    CharFrontend *old = m->fes[m->focus];
    if (old && old->event) {
        old->event(old->opaque, CHR_EVENT_MUX_OUT);
    }
    m->focus = focus % m->nfes;
    CharFrontend *fe = m->fes[m->focus];
    m->parent.fe = fe;
    if (fe && fe->event) {
        fe->event(fe->opaque, CHR_EVENT_MUX_IN);
    }
    chardev_accept_input(m->base);
}

/* Returns true if the byte was consumed by the escape handling. */
static bool mux_proc_byte(MuxChardev *m, uint8_t ch)
{
    if (m->escape_pending) {
        m->escape_pending = false;
        switch (ch) {
        case 'h':
        case '?':
            mux_help(m);
            return true;
        case 'x':
            mux_print(m, "kemu: Terminated\n\r");
            system_exit_request(0);
            return true;
        case 's':
            return true; /* block layer sync: nothing to flush without -snapshot */
        case 'b':
            chardev_deliver_event(&m->parent, CHR_EVENT_BREAK);
            return true;
        case 'c':
            mux_set_focus(m, m->focus + 1);
            return true;
        case 't':
            m->timestamps = !m->timestamps;
            return true;
        case MUX_ESCAPE:
            return false; /* deliver a literal C-a */
        default:
            return true;
        }
    }
    if (ch == MUX_ESCAPE) {
        m->escape_pending = true;
        return true;
    }
    return false;
}

static int mux_can_read(void *opaque)
{
    MuxChardev *m = opaque;
    CharFrontend *fe = m->nfes ? m->fes[m->focus] : NULL;
    if (!fe || !fe->can_read) {
        return fe && fe->read ? 1 : 1; /* still consume escapes */
    }
    int n = fe->can_read(fe->opaque);
    return n > 0 ? n : (m->escape_pending ? 1 : 0);
}

static void mux_read(void *opaque, const uint8_t *buf, int len)
{
    MuxChardev *m = opaque;
    for (int i = 0; i < len; i++) {
        if (mux_proc_byte(m, buf[i])) {
            continue;
        }
        CharFrontend *fe = m->nfes ? m->fes[m->focus] : NULL;
        if (fe && fe->read) {
            fe->read(fe->opaque, &buf[i], 1);
        }
    }
}

static void mux_event(void *opaque, ChardevEvent ev)
{
    MuxChardev *m = opaque;
    for (int i = 0; i < m->nfes; i++) {
        if (m->fes[i]->event) {
            m->fes[i]->event(m->fes[i]->opaque, ev);
        }
    }
}

static bool mux_open(Chardev *chr, const Opts *opts, Error **errp)
{
    MuxChardev *m = (MuxChardev *)chr;
    const char *base = opts_get(opts, "chardev");
    m->base = base ? chardev_find(base) : NULL;
    if (!m->base) {
        error_setg(errp, "mux: chardev '%s' not found", base ? base : "");
        return false;
    }
    chr->is_mux = true;
    m->base_fe.can_read = mux_can_read;
    m->base_fe.read = mux_read;
    m->base_fe.event = mux_event;
    m->base_fe.opaque = m;
    return chardev_attach(m->base, &m->base_fe, errp);
}

static bool mux_attach(Chardev *chr, CharFrontend *fe, Error **errp)
{
    MuxChardev *m = (MuxChardev *)chr;
    if (m->nfes >= MUX_MAX) {
        error_setg(errp, "too many uses of multiplexed chardev '%s'", chr->id);
        return false;
    }
    m->fes[m->nfes++] = fe;
    /* The most recently attached frontend gets focus, as QEMU does at start-up. */
    mux_set_focus(m, m->nfes - 1);
    return true;
}

static void mux_accept_input(Chardev *chr)
{
    MuxChardev *m = (MuxChardev *)chr;
    chardev_accept_input(m->base);
}

/* Give focus to frontend `idx` (used by main to focus the serial port at start). */
void chardev_mux_set_focus(Chardev *chr, int idx);
void chardev_mux_set_focus(Chardev *chr, int idx)
{
    if (chr && chr->is_mux) {
        mux_set_focus((MuxChardev *)chr, idx);
    }
}

static const ChardevClass mux_chardev = {
    .name = "mux",
    .open = mux_open,
    .write = mux_write,
    .attach = mux_attach,
    .accept_input = mux_accept_input,
    .instance_size = sizeof(MuxChardev),
};

static void __attribute__((constructor)) mux_register(void)
{
    chardev_register_class(&mux_chardev);
}
