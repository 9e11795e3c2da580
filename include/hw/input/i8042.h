/* "i8042": PC/AT keyboard controller with PS/2 keyboard and mouse (hw/input/i8042.c). */
#ifndef HW_INPUT_I8042_H
#define HW_INPUT_I8042_H

#include "hw/input/ps2.h"
#include "hw/irq.h"
#include "hw/qdev.h"

/* Route the output port's A20 gate (level 1 = enabled) to `a20`. */
void i8042_connect_a20(DeviceState *dev, Irq *a20);
PS2KbdState *i8042_get_keyboard(DeviceState *dev);
PS2MouseState *i8042_get_mouse(DeviceState *dev);

#endif
