/*
 * Character devices: byte streams that serial ports and monitors sit on.
 * Backends: null, stdio, file, mux (the -nographic multiplexer with C-a
 * escapes), socket and pty later.  A frontend attaches to a Chardev through
 * CharFrontend handlers; input is delivered in the main loop with the BQL held.
 */
#ifndef SYSTEM_CHARDEV_H
#define SYSTEM_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"
#include "kemu/option.h"

typedef struct Chardev Chardev;

typedef enum ChardevEvent {
    CHR_EVENT_OPENED,
    CHR_EVENT_CLOSED,
    CHR_EVENT_BREAK,
    CHR_EVENT_MUX_IN,   /* a mux switched focus to this frontend */
    CHR_EVENT_MUX_OUT,
} ChardevEvent;

typedef struct CharFrontend {
    int (*can_read)(void *opaque);                       /* bytes the frontend accepts now */
    void (*read)(void *opaque, const uint8_t *buf, int len);
    void (*event)(void *opaque, ChardevEvent ev);
    void *opaque;
} CharFrontend;

typedef struct ChardevClass {
    const char *name;
    bool (*open)(Chardev *chr, const Opts *opts, Error **errp);
    /* Write; returns bytes written (may be short) or -1. */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    void (*close)(Chardev *chr);
    /* Called when a frontend's can_read may have grown. */
    void (*accept_input)(Chardev *chr);
    /* Attach/detach a frontend (mux uses this to multiplex). */
    bool (*attach)(Chardev *chr, CharFrontend *fe, Error **errp);
    size_t instance_size;
} ChardevClass;

struct Chardev {
    const ChardevClass *cls;
    char *id;
    CharFrontend *fe;
    bool fe_taken;
    bool is_mux;
    Chardev *next;
};

void chardev_register_class(const ChardevClass *cls);
/* -chardev BACKEND,id=ID,... */
Chardev *chardev_new_from_opts(const Opts *opts, Error **errp);
/* Legacy -serial/-monitor syntax: "stdio", "null", "file:PATH", "mon:stdio", "chardev:ID", ...
 * `id` names the new chardev (e.g. "serial0"). */
Chardev *chardev_new_legacy(const char *spec, const char *id, Error **errp);
Chardev *chardev_find(const char *id);
void chardev_print_backends(void);
/* Frontend API */
bool chardev_attach(Chardev *chr, CharFrontend *fe, Error **errp);
int chardev_write_all(Chardev *chr, const uint8_t *buf, int len);
void chardev_accept_input(Chardev *chr);
/* Backends call this with input; it respects the frontend's can_read. Returns bytes taken. */
int chardev_deliver_input(Chardev *chr, const uint8_t *buf, int len);
void chardev_deliver_event(Chardev *chr, ChardevEvent ev);
void chardev_close_all(void);


/* Mux and stdio controls used by the command line (-nographic). */
void chardev_mux_set_focus(Chardev *chr, int idx);
void chardev_stdio_set_signal(bool allow_signals);

#endif
