/*
 * PS/2 keyboard and mouse, per the IBM PS/2 Hardware Interface Technical Reference
 * ("Keyboard and Auxiliary Device Controller": keyboard commands ED-FF, mouse
 * commands E6-FF) and the scan code set 2 / 8042 translation tables documented
 * there (Keyboard Technical Reference, "Scan Code Tables").
 *
 * Keyboard: reset (FF -> FA AA), identify (F2 -> FA AB 83), set LEDs (ED), echo (EE),
 * get/set scan code set (F0), typematic (F3), enable/disable (F4/F5), defaults (F6);
 * unknown commands, and resend (FE) as in QEMU, answer FE.  Mouse: reset (FF -> FA AA 00), stream
 * and remote modes, enable/disable reporting, status request, resolution, sample
 * rate (with the IntelliMouse 200/100/80 detection sequence -> device id 3),
 * scaling, wrap mode, read data.  Each device has a 256-byte output queue.
 */
#include <string.h>

#include "hw/input/ps2.h"

#define KBD_CMD_SET_LEDS      0xed
#define KBD_CMD_ECHO          0xee
#define KBD_CMD_SCANCODE      0xf0
#define KBD_CMD_GET_ID        0xf2
#define KBD_CMD_SET_RATE      0xf3
#define KBD_CMD_ENABLE        0xf4
#define KBD_CMD_RESET_DISABLE 0xf5
#define KBD_CMD_RESET_ENABLE  0xf6
#define KBD_CMD_RESEND        0xfe
#define KBD_CMD_RESET         0xff

#define KBD_REPLY_POR         0xaa /* power on reset / basic assurance test passed */
#define KBD_REPLY_ID          0xab
#define KBD_REPLY_ACK         0xfa
#define KBD_REPLY_RESEND      0xfe

#define AUX_SET_SCALE11       0xe6
#define AUX_SET_SCALE21       0xe7
#define AUX_SET_RES           0xe8
#define AUX_GET_SCALE         0xe9 /* status request */
#define AUX_SET_STREAM        0xea
#define AUX_POLL              0xeb
#define AUX_RESET_WRAP        0xec
#define AUX_SET_WRAP          0xee
#define AUX_SET_REMOTE        0xf0
#define AUX_GET_TYPE          0xf2
#define AUX_SET_SAMPLE        0xf3
#define AUX_ENABLE_DEV        0xf4
#define AUX_DISABLE_DEV       0xf5
#define AUX_SET_DEFAULT       0xf6
#define AUX_RESET             0xff

#define MOUSE_STATUS_REMOTE   0x40
#define MOUSE_STATUS_ENABLED  0x20
#define MOUSE_STATUS_SCALE21  0x10

/*
 * 8042 translation (scan code set 2 -> set 1) for codes 0x00-0x7f; the controller
 * applies it when its command byte has XLATE set (hw/input/i8042.c), and the
 * keyboard uses the inverse to turn set-1 key codes into set 2.
 */
const uint8_t ps2_set2_to_set1[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static PS2KbdState *ps2_default_kbd;
static PS2MouseState *ps2_default_aux;

PS2KbdState *ps2_default_keyboard(void)
{
    return ps2_default_kbd;
}

PS2MouseState *ps2_default_mouse(void)
{
    return ps2_default_aux;
}

void ps2_release(PS2KbdState *kbd, PS2MouseState *mouse)
{
    if (ps2_default_kbd == kbd) {
        ps2_default_kbd = NULL;
    }
    if (ps2_default_aux == mouse) {
        ps2_default_aux = NULL;
    }
}

/* ---- queue ----------------------------------------------------------------------- */

void ps2_queue(PS2State *s, uint8_t b)
{
    PS2Queue *q = &s->queue;

    if (q->count >= PS2_QUEUE_SIZE) {
        return; /* overrun: the byte is lost */
    }
    q->data[(q->rptr + q->count) % PS2_QUEUE_SIZE] = b;
    q->count++;
}

static unsigned ps2_queue_free(const PS2State *s)
{
    return PS2_QUEUE_SIZE - s->queue.count;
}

bool ps2_queue_empty(const PS2State *s)
{
    return s->queue.count == 0;
}

uint8_t ps2_read_data(PS2State *s)
{
    PS2Queue *q = &s->queue;

    if (q->count == 0) {
        /* Nothing queued: the previous byte again (as QEMU; EMM386 relies on it). */
        return q->data[(q->rptr + PS2_QUEUE_SIZE - 1) % PS2_QUEUE_SIZE];
    }
    uint8_t b = q->data[q->rptr];
    q->rptr = (q->rptr + 1) % PS2_QUEUE_SIZE;
    q->count--;
    if (q->ccount > 0) {
        q->ccount--;
    }
    return b;
}

static void ps2_queue_clear(PS2State *s)
{
    s->queue.rptr = 0;
    s->queue.count = 0;
    s->queue.ccount = 0;
}

/* Queue a command reply: after earlier replies, before key/motion data. */
static void ps2_cqueue(PS2State *s, uint8_t b)
{
    PS2Queue *q = &s->queue;

    if (q->count >= PS2_QUEUE_SIZE) {
        return;
    }
    for (int i = q->count - 1; i >= (int)q->ccount; i--) {
        q->data[(q->rptr + i + 1) % PS2_QUEUE_SIZE] = q->data[(q->rptr + i) % PS2_QUEUE_SIZE];
    }
    q->data[(q->rptr + q->ccount) % PS2_QUEUE_SIZE] = b;
    q->count++;
    q->ccount++;
}

/* A new command: replies to the previous one that were not read are dropped. */
static void ps2_cqueue_reset(PS2State *s)
{
    PS2Queue *q = &s->queue;

    q->rptr = (q->rptr + q->ccount) % PS2_QUEUE_SIZE;
    q->count -= q->ccount;
    q->ccount = 0;
}

static void ps2_notify(PS2State *s)
{
    if (s->update) {
        s->update(s->opaque);
    }
}

/* ---- keyboard -------------------------------------------------------------------- */

static void ps2_kbd_queue(PS2KbdState *s, uint8_t b)
{
    s->last_sent = b;
    ps2_cqueue(&s->common, b);
}

static void ps2_kbd_defaults(PS2KbdState *s)
{
    s->scan_enabled = true;
    s->scancode_set = 2;
}

void ps2_kbd_reset(PS2KbdState *s)
{
    ps2_queue_clear(&s->common);
    s->common.pending_cmd = -1;
    s->ledstate = 0;
    s->last_sent = 0;
    ps2_kbd_defaults(s);
}

void ps2_kbd_init(PS2KbdState *s, void (*update)(void *opaque), void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->common.update = update;
    s->common.opaque = opaque;
    ps2_kbd_reset(s);
    ps2_default_kbd = s;
}

static void ps2_kbd_command(PS2KbdState *s, uint8_t val)
{
    switch (val) {
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_SCANCODE:
    case KBD_CMD_SET_RATE:
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        s->common.pending_cmd = val;
        break;
    case KBD_CMD_ECHO:
        ps2_kbd_queue(s, KBD_CMD_ECHO);
        break;
    case 0x00:
        ps2_kbd_queue(s, KBD_REPLY_ACK); /* acknowledged by QEMU's keyboard too */
        break;
    case KBD_CMD_GET_ID:
        /* MF2 keyboard; through the 8042 translation 0x83 reads as 0x41. */
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        ps2_kbd_queue(s, KBD_REPLY_ID);
        ps2_kbd_queue(s, 0x83);
        break;
    case KBD_CMD_ENABLE:
        ps2_queue_clear(&s->common);
        s->scan_enabled = true;
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET_DISABLE:
        ps2_kbd_defaults(s);
        s->scan_enabled = false;
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET_ENABLE:
        ps2_kbd_defaults(s);
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        /* Scan code set 3 key attributes: acknowledged, no effect. */
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET:
        ps2_kbd_reset(s);
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        ps2_kbd_queue(s, KBD_REPLY_POR);
        break;
    default:
        ps2_kbd_queue(s, KBD_REPLY_RESEND);
        break;
    }
}

void ps2_write_keyboard(PS2KbdState *s, uint8_t val)
{
    int cmd = s->common.pending_cmd;

    ps2_cqueue_reset(&s->common);

    /* The byte after ED/F0/F3 is always taken as its parameter (as QEMU). */
    if (cmd < 0) {
        s->common.pending_cmd = -1;
        ps2_kbd_command(s, val);
        ps2_notify(&s->common);
        return;
    }
    s->common.pending_cmd = -1;
    switch (cmd) {
    case KBD_CMD_SET_LEDS:
        s->ledstate = val & 0x07;
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_SET_RATE:
        ps2_kbd_queue(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_SCANCODE:
        if (val == 0) {
            ps2_kbd_queue(s, KBD_REPLY_ACK);
            ps2_kbd_queue(s, s->scancode_set);
        } else if (val <= 3) {
            s->scancode_set = val;
            ps2_kbd_queue(s, KBD_REPLY_ACK);
        } else {
            ps2_kbd_queue(s, KBD_REPLY_RESEND);
        }
        break;
    }
    ps2_notify(&s->common);
}

static uint8_t ps2_set1_to_set2(uint8_t code)
{
    static uint8_t inverse[128];
    static bool built;

    if (!built) {
        for (int i = 0x7f; i >= 1; i--) {
            inverse[ps2_set2_to_set1[i] & 0x7f] = (uint8_t)i;
        }
        inverse[0x41] = 0x83; /* F7: set 2 code 0x83 also translates to 0x41 */
        built = true;
    }
    return inverse[code & 0x7f];
}

void ps2_keyboard_put_keycode(PS2KbdState *s, int keycode, bool down)
{
    bool extended = (keycode & 0xff00) == 0xe000;
    uint8_t code = keycode & 0x7f;

    if (!s->scan_enabled || code == 0) {
        return;
    }
    if (ps2_queue_free(&s->common) < 3) {
        return;
    }
    if (extended) {
        ps2_queue(&s->common, 0xe0);
    }
    if (s->scancode_set == 1) {
        ps2_queue(&s->common, down ? code : code | 0x80);
    } else {
        if (!down) {
            ps2_queue(&s->common, 0xf0);
        }
        ps2_queue(&s->common, ps2_set1_to_set2(code));
    }
    ps2_notify(&s->common);
}

/* ---- mouse ----------------------------------------------------------------------- */

static void ps2_mouse_defaults(PS2MouseState *s)
{
    s->status = 0;
    s->resolution = 2;
    s->sample_rate = 100;
    s->dx = s->dy = s->dz = 0;
}

/* Device (machine) reset.  Resolution and sample rate read 0 until the host resets
 * the mouse (FF) or sets defaults (F6), as on QEMU. */
void ps2_mouse_reset(PS2MouseState *s)
{
    ps2_queue_clear(&s->common);
    s->common.pending_cmd = -1;
    ps2_mouse_defaults(s);
    s->resolution = 0;
    s->sample_rate = 0;
    s->wrap = 0;
    s->type = 0;
    s->detect_state = 0;
    s->buttons = 0;
}

void ps2_mouse_init(PS2MouseState *s, void (*update)(void *opaque), void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->common.update = update;
    s->common.opaque = opaque;
    ps2_mouse_reset(s);
    ps2_default_aux = s;
}

static int ps2_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Queue one movement data packet (3 bytes, 4 for the IntelliMouse). */
static void ps2_mouse_send_packet(PS2MouseState *s)
{
    int dx = ps2_clamp(s->dx, -255, 255);
    int dy = ps2_clamp(s->dy, -255, 255);
    int dz = s->type == 3 ? ps2_clamp(s->dz, -8, 7) : 0;
    uint8_t b0 = 0x08 | (s->buttons & 0x07);

    if (dx < 0) {
        b0 |= 0x10;
    }
    if (dy < 0) {
        b0 |= 0x20;
    }
    ps2_queue(&s->common, b0);
    ps2_queue(&s->common, (uint8_t)dx);
    ps2_queue(&s->common, (uint8_t)dy);
    if (s->type == 3) {
        ps2_queue(&s->common, (uint8_t)dz);
    }
    s->dx -= dx;
    s->dy -= dy;
    s->dz -= dz;
}

static unsigned ps2_mouse_packet_size(const PS2MouseState *s)
{
    return s->type == 3 ? 4 : 3;
}

void ps2_mouse_event(PS2MouseState *s, int dx, int dy, int dz, unsigned buttons)
{
    if (!(s->status & MOUSE_STATUS_ENABLED)) {
        s->buttons = buttons & 0x07;
        return;
    }
    bool changed = (buttons & 0x07) != s->buttons || dx || dy || dz;
    s->buttons = buttons & 0x07;
    /* PS/2 Y axis points up; ours (like the host's) points down. */
    s->dx = ps2_clamp(s->dx + dx, -4096, 4096);
    s->dy = ps2_clamp(s->dy - dy, -4096, 4096);
    s->dz = ps2_clamp(s->dz + dz, -64, 64);
    if (s->status & MOUSE_STATUS_REMOTE) {
        return; /* reported on AUX_POLL */
    }
    for (int i = 0; i < 16 && (changed || s->dx || s->dy || s->dz); i++) {
        if (ps2_queue_free(&s->common) < ps2_mouse_packet_size(s)) {
            break;
        }
        ps2_mouse_send_packet(s);
        changed = false;
    }
    ps2_notify(&s->common);
}

static void ps2_mouse_command(PS2MouseState *s, uint8_t val)
{
    switch (val) {
    case AUX_SET_SCALE11:
        s->status &= ~MOUSE_STATUS_SCALE21;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_SET_SCALE21:
        s->status |= MOUSE_STATUS_SCALE21;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_SET_RES:
    case AUX_SET_SAMPLE:
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        s->common.pending_cmd = val;
        break;
    case AUX_GET_SCALE:
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        ps2_cqueue(&s->common, s->status | (s->buttons & 0x07));
        ps2_cqueue(&s->common, s->resolution);
        ps2_cqueue(&s->common, s->sample_rate);
        break;
    case AUX_SET_STREAM:
        s->status &= ~MOUSE_STATUS_REMOTE;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_POLL:
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        ps2_mouse_send_packet(s);
        break;
    case AUX_RESET_WRAP:
        s->wrap = 0;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_SET_WRAP:
        s->wrap = 1;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_SET_REMOTE:
        s->status |= MOUSE_STATUS_REMOTE;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_GET_TYPE:
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        ps2_cqueue(&s->common, s->type);
        break;
    case AUX_ENABLE_DEV:
        s->status |= MOUSE_STATUS_ENABLED;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_DISABLE_DEV:
        s->status &= ~MOUSE_STATUS_ENABLED;
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_SET_DEFAULT:
        ps2_mouse_defaults(s);
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        break;
    case AUX_RESET:
        ps2_mouse_reset(s);
        ps2_mouse_defaults(s);
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
        ps2_cqueue(&s->common, KBD_REPLY_POR);
        ps2_cqueue(&s->common, s->type);
        break;
    default:
        break; /* unknown commands get no reply (as QEMU) */
    }
}

void ps2_write_mouse(PS2MouseState *s, uint8_t val)
{
    int cmd = s->common.pending_cmd;

    ps2_cqueue_reset(&s->common);

    if (s->wrap && val != AUX_RESET_WRAP && val != AUX_RESET) {
        ps2_cqueue(&s->common, val); /* wrap mode echoes every byte */
    } else if (cmd < 0) {
        ps2_mouse_command(s, val);
    } else {
        s->common.pending_cmd = -1;
        if (cmd == AUX_SET_RES) {
            s->resolution = val; /* stored as written, as QEMU */
        } else {
            s->sample_rate = val;
            /* IntelliMouse detection: sample rates 200, 100, 80 in a row. */
            if (s->detect_state == 0 && val == 200) {
                s->detect_state = 1;
            } else if (s->detect_state == 1 && val == 100) {
                s->detect_state = 2;
            } else if (s->detect_state == 2 && val == 80) {
                s->type = 3;
                s->detect_state = 0;
            } else {
                s->detect_state = val == 200 ? 1 : 0;
            }
        }
        ps2_cqueue(&s->common, KBD_REPLY_ACK);
    }
    ps2_notify(&s->common);
}

/* ---- vmstate --------------------------------------------------------------------- */

static const VMStateField vmstate_ps2_queue_fields[] = {
    VMSTATE_BUFFER(data, PS2Queue),
    VMSTATE_UINT16(rptr, PS2Queue),
    VMSTATE_UINT16(count, PS2Queue),
    VMSTATE_UINT16(ccount, PS2Queue),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_ps2_queue = {
    .name = "ps2-queue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_ps2_queue_fields,
};

static const VMStateField vmstate_ps2_common_fields[] = {
    VMSTATE_STRUCT(queue, PS2State, vmstate_ps2_queue, PS2Queue),
    VMSTATE_INT32(pending_cmd, PS2State),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_ps2_common = {
    .name = "PS2 Common State",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_ps2_common_fields,
};

static const VMStateField vmstate_ps2_keyboard_fields[] = {
    VMSTATE_STRUCT(common, PS2KbdState, vmstate_ps2_common, PS2State),
    VMSTATE_BOOL(scan_enabled, PS2KbdState),
    VMSTATE_UINT8(scancode_set, PS2KbdState),
    VMSTATE_UINT8(ledstate, PS2KbdState),
    VMSTATE_UINT8(last_sent, PS2KbdState),
    VMSTATE_END_OF_LIST(),
};

const VMStateDescription vmstate_ps2_keyboard = {
    .name = "ps2kbd",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_ps2_keyboard_fields,
};

static const VMStateField vmstate_ps2_mouse_fields[] = {
    VMSTATE_STRUCT(common, PS2MouseState, vmstate_ps2_common, PS2State),
    VMSTATE_UINT8(status, PS2MouseState),
    VMSTATE_UINT8(resolution, PS2MouseState),
    VMSTATE_UINT8(sample_rate, PS2MouseState),
    VMSTATE_UINT8(wrap, PS2MouseState),
    VMSTATE_UINT8(type, PS2MouseState),
    VMSTATE_UINT8(detect_state, PS2MouseState),
    VMSTATE_UINT8(buttons, PS2MouseState),
    VMSTATE_INT32(dx, PS2MouseState),
    VMSTATE_INT32(dy, PS2MouseState),
    VMSTATE_INT32(dz, PS2MouseState),
    VMSTATE_END_OF_LIST(),
};

const VMStateDescription vmstate_ps2_mouse = {
    .name = "ps2mouse",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_ps2_mouse_fields,
};
