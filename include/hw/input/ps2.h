/*
 * PS/2 keyboard and mouse (hw/input/ps2.c), the devices behind an i8042 controller.
 * They are plain state structs embedded in the controller; the controller is told
 * through `update` when a device has bytes queued for it.
 */
#ifndef HW_INPUT_PS2_H
#define HW_INPUT_PS2_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/vmstate.h"

#define PS2_QUEUE_SIZE 256

/* Output queue.  The first `ccount` bytes are replies to the last command: a reply
 * goes ahead of queued key/motion data, and a new command drops the replies the host
 * has not read yet (QEMU's PS/2 model; a real device aborts its output on a command). */
typedef struct PS2Queue {
    uint8_t data[PS2_QUEUE_SIZE];
    uint16_t rptr;
    uint16_t count;
    uint16_t ccount;
} PS2Queue;

typedef struct PS2State {
    PS2Queue queue;
    int32_t pending_cmd;        /* command awaiting its parameter byte, or -1 */
    void (*update)(void *opaque);
    void *opaque;
} PS2State;

typedef struct PS2KbdState {
    PS2State common;
    bool scan_enabled;
    uint8_t scancode_set;       /* 1, 2 or 3 */
    uint8_t ledstate;
    uint8_t last_sent;          /* for 0xFE resend */
} PS2KbdState;

typedef struct PS2MouseState {
    PS2State common;
    uint8_t status;             /* bit 6 remote mode, bit 5 reporting enabled, 4 scaling */
    uint8_t resolution;
    uint8_t sample_rate;
    uint8_t wrap;
    uint8_t type;               /* device id: 0 standard, 3 IntelliMouse */
    uint8_t detect_state;       /* IntelliMouse magic sequence 200,100,80 */
    uint8_t buttons;
    int32_t dx, dy, dz;         /* accumulated movement not yet reported */
} PS2MouseState;

#define PS2_MOUSE_BUTTON_LEFT   0x01
#define PS2_MOUSE_BUTTON_RIGHT  0x02
#define PS2_MOUSE_BUTTON_MIDDLE 0x04

/* 8042 translation of scan code set 2 codes 0x00-0x7f to set 1 (0x83 -> 0x41 too). */
extern const uint8_t ps2_set2_to_set1[128];

extern const VMStateDescription vmstate_ps2_keyboard;
extern const VMStateDescription vmstate_ps2_mouse;

void ps2_kbd_init(PS2KbdState *s, void (*update)(void *opaque), void *opaque);
void ps2_mouse_init(PS2MouseState *s, void (*update)(void *opaque), void *opaque);
/* Forget the devices as input defaults (before their memory goes away). */
void ps2_release(PS2KbdState *kbd, PS2MouseState *mouse);
void ps2_kbd_reset(PS2KbdState *s);
void ps2_mouse_reset(PS2MouseState *s);

/* Host -> device command/parameter byte. */
void ps2_write_keyboard(PS2KbdState *s, uint8_t val);
void ps2_write_mouse(PS2MouseState *s, uint8_t val);

/* Device -> host queue, read by the controller. */
bool ps2_queue_empty(const PS2State *s);
uint8_t ps2_read_data(PS2State *s);
void ps2_queue(PS2State *s, uint8_t b);

/*
 * Input hooks for the UI.  `keycode` is a PC/XT (scan code set 1) make code,
 * 0x01-0x7f, with 0xe0-prefixed keys given as 0xe0XX; the keyboard converts it to
 * its current scan code set (set 2 by default) and queues make or break codes.
 */
void ps2_keyboard_put_keycode(PS2KbdState *s, int keycode, bool down);
/* Relative motion (dx right, dy *down*, dz wheel down) and the button state. */
void ps2_mouse_event(PS2MouseState *s, int dx, int dy, int dz, unsigned buttons);

/* The most recently realized PS/2 keyboard/mouse (NULL if none): for UI input. */
PS2KbdState *ps2_default_keyboard(void);
PS2MouseState *ps2_default_mouse(void);

#endif
