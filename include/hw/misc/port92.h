/* "port92": PS/2 system control port A (fast A20 gate, fast reset); hw/misc/port92.c. */
#ifndef HW_MISC_PORT92_H
#define HW_MISC_PORT92_H

#include "hw/irq.h"
#include "hw/qdev.h"

/* Route the A20 gate output (level 1 = A20 enabled) to `a20`; NULL leaves it unconnected. */
void port92_connect_a20(DeviceState *dev, Irq *a20);

#endif
