/*
 * PS/2 keyboard and mouse (hw/input/ps2.c): command replies, key code conversion to
 * scan code sets 1 and 2, the 8042 translation table, mouse packets and the
 * IntelliMouse detection sequence.
 */
#include <glib.h>
#include <string.h>

#include "hw/input/ps2.h"

static int updates;

static void count_update(void *opaque)
{
    updates++;
}

/* Drain the queue into buf; returns the byte count. */
static int drain(PS2State *s, uint8_t *buf, int max)
{
    int n = 0;
    while (!ps2_queue_empty(s) && n < max) {
        buf[n++] = ps2_read_data(s);
    }
    return n;
}

#define ASSERT_QUEUE(state, ...) \
    do { \
        const uint8_t want_[] = { __VA_ARGS__ }; \
        uint8_t got_[64]; \
        int n_ = drain((state), got_, sizeof(got_)); \
        g_assert_cmpmem(got_, n_, want_, sizeof(want_)); \
    } while (0)

static void test_kbd_commands(void)
{
    PS2KbdState k;

    ps2_kbd_init(&k, count_update, NULL);
    updates = 0;
    ps2_write_keyboard(&k, 0xff);
    ASSERT_QUEUE(&k.common, 0xfa, 0xaa);
    g_assert_cmpint(updates, >, 0);
    ps2_write_keyboard(&k, 0xf2);
    ASSERT_QUEUE(&k.common, 0xfa, 0xab, 0x83);
    ps2_write_keyboard(&k, 0xee);
    ASSERT_QUEUE(&k.common, 0xee);
    ps2_write_keyboard(&k, 0xed);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_write_keyboard(&k, 0x05);
    ASSERT_QUEUE(&k.common, 0xfa);
    g_assert_cmpint(k.ledstate, ==, 0x05);
    /* The byte after ED is its parameter, whatever it is. */
    ps2_write_keyboard(&k, 0xed);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_write_keyboard(&k, 0xee);
    ASSERT_QUEUE(&k.common, 0xfa);
    g_assert_cmpint(k.ledstate, ==, 0x06);
    ps2_write_keyboard(&k, 0xf0);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_write_keyboard(&k, 0x00);
    ASSERT_QUEUE(&k.common, 0xfa, 0x02);
    ps2_write_keyboard(&k, 0xf0);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_write_keyboard(&k, 0x07);                 /* no such set */
    ASSERT_QUEUE(&k.common, 0xfe);
    ps2_write_keyboard(&k, 0x42);                 /* unknown command */
    ASSERT_QUEUE(&k.common, 0xfe);
    ps2_write_keyboard(&k, 0xfe);                 /* resend: answered FE, as QEMU */
    ASSERT_QUEUE(&k.common, 0xfe);
    ps2_write_keyboard(&k, 0x00);                 /* ACKed, as QEMU */
    ASSERT_QUEUE(&k.common, 0xfa);
}

static void test_command_replies_and_key_data(void)
{
    PS2KbdState k;

    ps2_kbd_init(&k, NULL, NULL);
    /* Key data queued, then a command: its reply goes first. */
    ps2_keyboard_put_keycode(&k, 0x1e, true);
    ps2_write_keyboard(&k, 0xf2);
    g_assert_cmphex(ps2_read_data(&k.common), ==, 0xfa);
    /* A new command drops the unread replies of the previous one, not the key data. */
    ps2_write_keyboard(&k, 0xee);
    ASSERT_QUEUE(&k.common, 0xee, 0x1c);
}

static void test_kbd_keycodes(void)
{
    PS2KbdState k;

    ps2_kbd_init(&k, count_update, NULL);
    /* Set 2: 'A' (set 1 0x1e) is 0x1c; break is F0 1C. */
    ps2_keyboard_put_keycode(&k, 0x1e, true);
    ps2_keyboard_put_keycode(&k, 0x1e, false);
    ASSERT_QUEUE(&k.common, 0x1c, 0xf0, 0x1c);
    /* Extended: Up arrow is E0 48 in set 1, E0 75 in set 2. */
    ps2_keyboard_put_keycode(&k, 0xe048, true);
    ps2_keyboard_put_keycode(&k, 0xe048, false);
    ASSERT_QUEUE(&k.common, 0xe0, 0x75, 0xe0, 0xf0, 0x75);
    /* F7 is the odd one out: set 2 0x83. */
    ps2_keyboard_put_keycode(&k, 0x41, true);
    ASSERT_QUEUE(&k.common, 0x83);
    /* Set 1: codes pass through, break sets bit 7. */
    ps2_write_keyboard(&k, 0xf0);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_write_keyboard(&k, 0x01);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_keyboard_put_keycode(&k, 0x1e, true);
    ps2_keyboard_put_keycode(&k, 0x1e, false);
    ASSERT_QUEUE(&k.common, 0x1e, 0x9e);
    /* Disabled scanning: keys are dropped. */
    ps2_write_keyboard(&k, 0xf5);
    ASSERT_QUEUE(&k.common, 0xfa);
    ps2_keyboard_put_keycode(&k, 0x1e, true);
    g_assert_true(ps2_queue_empty(&k.common));
}

static void test_translation_table_round_trip(void)
{
    PS2KbdState k;

    ps2_kbd_init(&k, NULL, NULL);
    /* Every set-1 make code 0x01..0x7f goes to set 2 and translates back. */
    for (int code = 1; code < 0x80; code++) {
        ps2_keyboard_put_keycode(&k, code, true);
        uint8_t b = ps2_read_data(&k.common);
        g_assert_true(ps2_queue_empty(&k.common));
        uint8_t back = b < 0x80 ? ps2_set2_to_set1[b] : (b == 0x83 ? 0x41 : b);
        g_assert_cmphex(back, ==, code);
    }
}

static void test_queue_overflow(void)
{
    PS2KbdState k;

    ps2_kbd_init(&k, NULL, NULL);
    for (int i = 0; i < 1000; i++) {
        ps2_keyboard_put_keycode(&k, 0x1e, i & 1);
    }
    g_assert_cmpint(k.common.queue.count, <=, PS2_QUEUE_SIZE);
    uint8_t buf[PS2_QUEUE_SIZE + 8];
    g_assert_cmpint(drain(&k.common, buf, sizeof(buf)), <=, PS2_QUEUE_SIZE);
}

static void test_mouse(void)
{
    PS2MouseState m;

    ps2_mouse_init(&m, count_update, NULL);
    ps2_write_mouse(&m, 0xff);
    ASSERT_QUEUE(&m.common, 0xfa, 0xaa, 0x00);
    /* Not enabled: motion is not reported. */
    ps2_mouse_event(&m, 5, 5, 0, 0);
    g_assert_true(ps2_queue_empty(&m.common));
    ps2_write_mouse(&m, 0xf4);
    ASSERT_QUEUE(&m.common, 0xfa);
    /* Right 10, down 3 (PS/2 y is up: -3), left button. */
    ps2_mouse_event(&m, 10, 3, 0, PS2_MOUSE_BUTTON_LEFT);
    ASSERT_QUEUE(&m.common, 0x08 | 0x20 | 0x01, 10, 0xfd);
    /* Large motion is split into packets of at most 255. */
    ps2_mouse_event(&m, 300, 0, 0, 0);
    ASSERT_QUEUE(&m.common, 0x08, 0xff, 0x00, 0x08, 45, 0x00);
    /* Status request: reporting enabled, resolution 2, 100 samples/s. */
    ps2_write_mouse(&m, 0xe9);
    ASSERT_QUEUE(&m.common, 0xfa, 0x20, 0x02, 100);
    /* IntelliMouse: sample rates 200, 100, 80 turn on the wheel (id 3, 4-byte packets). */
    const uint8_t rates[] = { 200, 100, 80 };
    for (int i = 0; i < 3; i++) {
        ps2_write_mouse(&m, 0xf3);
        ASSERT_QUEUE(&m.common, 0xfa);
        ps2_write_mouse(&m, rates[i]);
        ASSERT_QUEUE(&m.common, 0xfa);
    }
    ps2_write_mouse(&m, 0xf2);
    ASSERT_QUEUE(&m.common, 0xfa, 0x03);
    ps2_mouse_event(&m, 0, 0, 1, 0);
    ASSERT_QUEUE(&m.common, 0x08, 0x00, 0x00, 0x01);
    /* Remote mode: nothing until read data (0xEB). */
    ps2_write_mouse(&m, 0xf0);
    ASSERT_QUEUE(&m.common, 0xfa);
    ps2_mouse_event(&m, 1, 0, 0, 0);
    g_assert_true(ps2_queue_empty(&m.common));
    ps2_write_mouse(&m, 0xeb);
    ASSERT_QUEUE(&m.common, 0xfa, 0x08, 0x01, 0x00, 0x00);
    /* Wrap mode echoes until reset-wrap. */
    ps2_write_mouse(&m, 0xee);
    ASSERT_QUEUE(&m.common, 0xfa);
    ps2_write_mouse(&m, 0x42);
    ASSERT_QUEUE(&m.common, 0x42);
    ps2_write_mouse(&m, 0xec);
    ASSERT_QUEUE(&m.common, 0xfa);
    ps2_write_mouse(&m, 0x11);                    /* unknown: no reply (as QEMU) */
    g_assert_true(ps2_queue_empty(&m.common));
}

/* vmstate round trip: a device in the middle of a conversation comes back identical. */
static void test_vmstate_round_trip(void)
{
    PS2KbdState k, k2;
    PS2MouseState m, m2;

    ps2_kbd_init(&k, NULL, NULL);
    ps2_keyboard_put_keycode(&k, 0x1e, true);
    ps2_write_keyboard(&k, 0xed);                 /* LED parameter pending */
    ps2_mouse_init(&m, NULL, NULL);
    ps2_write_mouse(&m, 0xf4);
    ps2_write_mouse(&m, 0xf3);                    /* sample rate parameter pending */
    ps2_mouse_event(&m, 3, -2, 0, PS2_MOUSE_BUTTON_RIGHT);

    GByteArray *buf = g_byte_array_new();
    vmstate_save(&vmstate_ps2_keyboard, &k, buf);
    vmstate_save(&vmstate_ps2_mouse, &m, buf);
    ps2_kbd_init(&k2, NULL, NULL);
    ps2_mouse_init(&m2, NULL, NULL);
    size_t used = 0, used2 = 0;
    g_assert_true(vmstate_load(&vmstate_ps2_keyboard, &k2, buf->data, buf->len, &used, NULL));
    g_assert_true(vmstate_load(&vmstate_ps2_mouse, &m2, buf->data + used, buf->len - used,
                               &used2, NULL));
    g_assert_cmpuint(used + used2, ==, buf->len);
    g_byte_array_free(buf, TRUE);

    ps2_write_keyboard(&k2, 0x02);                /* completes the LED command */
    g_assert_cmpint(k2.ledstate, ==, 0x02);
    ASSERT_QUEUE(&k2.common, 0xfa, 0x1c);         /* reply first, then the key */
    ASSERT_QUEUE(&m2.common, 0xfa, 0x08 | 0x02, 0x03, 0x02);
    ps2_write_mouse(&m2, 40);
    g_assert_cmpint(m2.sample_rate, ==, 40);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ps2/keyboard/commands", test_kbd_commands);
    g_test_add_func("/ps2/keyboard/keycodes", test_kbd_keycodes);
    g_test_add_func("/ps2/keyboard/command-replies", test_command_replies_and_key_data);
    g_test_add_func("/ps2/keyboard/translation", test_translation_table_round_trip);
    g_test_add_func("/ps2/keyboard/overflow", test_queue_overflow);
    g_test_add_func("/ps2/mouse", test_mouse);
    g_test_add_func("/ps2/vmstate", test_vmstate_round_trip);
    return g_test_run();
}
