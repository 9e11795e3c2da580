/*
 * Intel 8254 programmable interval timer (see hw/timer/i8254.c) and the PC/AT port 0x61
 * (gate 2, speaker data enable, OUT2 and refresh read-back).
 *
 * Board wiring: counter 0's OUT drives ISA IRQ 0 (the `irq` given to pit_init); port 0x61
 * is the "isa-pcspk" device created by pcspk_init() over the same PIT.
 */
#ifndef HW_TIMER_I8254_H
#define HW_TIMER_I8254_H

#include <stdint.h>

#include "hw/irq.h"
#include "hw/qdev.h"
#include "kemu/error.h"

#define TYPE_ISA_PIT "isa-pit"
#define TYPE_ISA_PCSPK "isa-pcspk"
#define PIT_FREQ 1193182

typedef struct PITState PITState;

/* Create and realize the PIT at `iobase` (0x40 on the PC) with counter 0's OUT on `irq`. */
PITState *pit_init(uint16_t iobase, Irq *irq, Error **errp);
void pit_set_gate(PITState *s, int channel, int level);
int pit_get_gate(PITState *s, int channel);
/* OUT of `channel` now. */
int pit_get_out(PITState *s, int channel);
/* Port 0x61 over `pit`. */
DeviceState *pcspk_init(PITState *pit, Error **errp);

#endif
