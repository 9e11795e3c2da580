/*
 * 16550A UART core (see hw/char/serial.c) and its ISA wrapper "isa-serial".
 * The core is bus-neutral so a PCI serial card can reuse it later.
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include "system/timer.h"

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/vmstate.h"
#include "system/chardev.h"
#include "system/memory.h"

#define UART_FIFO_LENGTH 16

typedef struct SerialState {
    /* Registers (PC16550D datasheet, Table II) */
    uint16_t divider;            /* DLM:DLL */
    uint8_t rbr;                 /* last received byte (non-FIFO mode) */
    uint8_t ier;
    uint8_t iir;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t fcr;
    /* Receiver FIFO (also used as the 1-byte holding register in 16450 mode) */
    uint8_t rx_fifo[UART_FIFO_LENGTH];
    uint8_t rx_head;
    uint8_t rx_count;
    /* Interrupt sources that are latched rather than derived from LSR/MSR */
    bool thr_ipending;           /* THRE interrupt pending (cleared by IIR read / THR write) */
    bool timeout_ipending;       /* character timeout indication */
    /* Configuration and wiring */
    uint32_t baudbase;
    Irq *irq;
    Chardev *chr;
    CharFrontend fe;
    Timer *fifo_timeout_timer;
    MemoryRegion io;
    int irq_level;
} SerialState;

extern const VMStateDescription vmstate_serial;
extern const MemoryRegionOps serial_io_ops;

/* Connect the chardev (if any), create timers and the 8-byte register region. */
bool serial_realize_core(SerialState *s, Error **errp);
void serial_reset(SerialState *s);
uint64_t serial_ioport_read(void *opaque, hwaddr addr, unsigned size);
void serial_ioport_write(void *opaque, hwaddr addr, uint64_t val, unsigned size);

#endif
