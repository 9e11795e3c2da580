/*
 * 16550A UART core, per the National Semiconductor / TI PC16550D datasheet
 * ("PC16550D Universal Asynchronous Receiver/Transmitter with FIFOs"):
 *   Table II  register summary (RBR/THR/IER/IIR/FCR/LCR/MCR/LSR/MSR/SCR, DLL/DLM)
 *   §8.4      FCR (FIFO enable/reset, receiver trigger level 1/4/8/14)
 *   §8.5/8.6  IIR and interrupt priorities:
 *             receiver line status > received data available / character timeout
 *             > transmitter holding register empty > modem status
 *   §8.8      MCR loopback (TX -> RX, MCR outputs -> MSR inputs)
 *   FIFO interrupt mode operation: character timeout after 4 character times
 *   without RX FIFO activity while the FIFO holds fewer bytes than the trigger level.
 *
 * Transmission is immediate: a byte written to THR goes to the chardev at once and
 * THR/TSR are empty again when the write returns (LSR.THRE and LSR.TEMT read 1),
 * which is how QEMU behaves too; with a 16-byte TX FIFO that is never full, the
 * guest cannot tell the difference except for timing.
 *
 * The interrupt output is the UART's INTR pin: as in QEMU, it is not gated by MCR
 * OUT2 (on an IBM PC that gate is an external buffer, not part of the UART).
 */
#include <string.h>

#include "hw/char/serial.h"
#include "kemu/error.h"

/* Register offsets */
#define UART_RBR 0 /* R, DLAB=0 */
#define UART_THR 0 /* W, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* R */
#define UART_FCR 2 /* W */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI 0x01 /* received data available */
#define UART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define UART_IER_ELSI  0x04 /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID     0x0e
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_CTI    0x0c
#define UART_IIR_FE     0xc0 /* FIFOs enabled */

#define UART_FCR_FE     0x01
#define UART_FCR_RFR    0x02
#define UART_FCR_XFR    0x04
#define UART_FCR_DMS    0x08
#define UART_FCR_ITL    0xc0

#define UART_LCR_WLS    0x03
#define UART_LCR_STB    0x04
#define UART_LCR_PEN    0x08
#define UART_LCR_DLAB   0x80

#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT1   0x04
#define UART_MCR_OUT2   0x08
#define UART_MCR_LOOP   0x10

#define UART_LSR_DR     0x01
#define UART_LSR_OE     0x02
#define UART_LSR_PE     0x04
#define UART_LSR_FE     0x08
#define UART_LSR_BI     0x10
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40
#define UART_LSR_ERR    0x80 /* error in RX FIFO */
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04
#define UART_MSR_DDCD   0x08
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80
#define UART_MSR_DELTA  0x0f

static const uint8_t serial_rx_trigger[4] = { 1, 4, 8, 14 };

static bool serial_fifo_enabled(const SerialState *s)
{
    return s->fcr & UART_FCR_FE;
}

static bool serial_loopback(const SerialState *s)
{
    return s->mcr & UART_MCR_LOOP;
}

/* Time on the wire for one character at the programmed rate and frame format. */
static int64_t serial_char_time_ns(const SerialState *s)
{
    unsigned bits = 1 + 5 + (s->lcr & UART_LCR_WLS) + ((s->lcr & UART_LCR_PEN) ? 1 : 0) +
                    ((s->lcr & UART_LCR_STB) ? 2 : 1);
    uint64_t divider = s->divider ? s->divider : 1;
    uint64_t baudbase = s->baudbase ? s->baudbase : 115200;

    return (int64_t)(NANOSECONDS_PER_SECOND * divider * bits / baudbase);
}

static void serial_update_irq(SerialState *s)
{
    uint8_t iid = UART_IIR_NO_INT;
    bool rda;

    if (serial_fifo_enabled(s)) {
        rda = s->rx_count >= serial_rx_trigger[s->fcr >> 6];
    } else {
        rda = s->lsr & UART_LSR_DR;
    }

    if ((s->ier & UART_IER_ELSI) && (s->lsr & UART_LSR_INT_ANY)) {
        iid = UART_IIR_RLSI;
    } else if ((s->ier & UART_IER_ERBFI) && s->timeout_ipending) {
        iid = UART_IIR_CTI;
    } else if ((s->ier & UART_IER_ERBFI) && rda) {
        iid = UART_IIR_RDI;
    } else if ((s->ier & UART_IER_ETBEI) && s->thr_ipending) {
        iid = UART_IIR_THRI;
    } else if ((s->ier & UART_IER_EDSSI) && (s->msr & UART_MSR_DELTA)) {
        iid = UART_IIR_MSI;
    }
    s->iir = iid | (serial_fifo_enabled(s) ? UART_IIR_FE : 0);

    int level = !(iid & UART_IIR_NO_INT);
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set(s->irq, level);
    }
}

/* Restart the 4-character timeout window (after a receive or an RBR read). */
static void serial_rearm_timeout(SerialState *s)
{
    if (!s->fifo_timeout_timer) {
        return;
    }
    if (serial_fifo_enabled(s) && s->rx_count > 0) {
        timer_mod(s->fifo_timeout_timer,
                  clock_get_ns(KEMU_CLOCK_VIRTUAL) + 4 * serial_char_time_ns(s));
    } else {
        timer_del(s->fifo_timeout_timer);
    }
}

static void serial_fifo_timeout(void *opaque)
{
    SerialState *s = opaque;

    if (serial_fifo_enabled(s) && s->rx_count > 0) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
}

static void serial_rx_reset(SerialState *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->timeout_ipending = false;
    s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
    if (s->fifo_timeout_timer) {
        timer_del(s->fifo_timeout_timer);
    }
}

/* A character arrives from the line (chardev or loopback). */
static void serial_receive_byte(SerialState *s, uint8_t ch)
{
    if (serial_fifo_enabled(s)) {
        if (s->rx_count >= UART_FIFO_LENGTH) {
            /* §8.7 LSR bit 1: the FIFO is full; the new character in the shift register
             * is overwritten and lost, the FIFO contents stay. */
            s->lsr |= UART_LSR_OE;
        } else {
            s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_LENGTH] = ch;
            s->rx_count++;
        }
    } else {
        if (s->lsr & UART_LSR_DR) {
            s->lsr |= UART_LSR_OE;
        }
        s->rbr = ch;
        s->rx_head = 0;
        s->rx_count = 1;
    }
    s->lsr |= UART_LSR_DR;
    serial_rearm_timeout(s);
}

static void serial_transmit(SerialState *s, uint8_t ch)
{
    if (serial_loopback(s)) {
        serial_receive_byte(s, ch);
    } else if (s->chr) {
        /* The byte goes to the chardev whole, whatever the word length in LCR: the
         * "wire" is a byte stream, and QEMU does the same, so guests that never
         * program LCR (reset value: 5-bit words) still print readable text. */
        chardev_write_all(s->chr, &ch, 1);
    }
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
}

/* In loopback mode the modem inputs are the MCR outputs (§8.8): CTS = RTS, DSR = DTR,
 * RI = OUT1, DCD = OUT2.  As QEMU does, the line's MSR (and its delta bits) is kept
 * aside meanwhile, so entering or leaving loopback raises no modem status change. */
static uint8_t serial_loopback_msr(const SerialState *s)
{
    return (uint8_t)(((s->mcr & (UART_MCR_OUT1 | UART_MCR_OUT2)) << 4) |
                     ((s->mcr & UART_MCR_RTS) << 3) | ((s->mcr & UART_MCR_DTR) << 5));
}

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    if ((val ^ s->fcr) & UART_FCR_FE) {
        /* Changing the FIFO enable bit clears both FIFOs (§8.4 bit 0). */
        val |= UART_FCR_RFR | UART_FCR_XFR;
    }
    /* The datasheet wants FCR0 set for the other bits to take effect; QEMU applies the
     * FIFO resets regardless, and we follow QEMU. */
    if (val & UART_FCR_RFR) {
        serial_rx_reset(s);
    }
    if (val & UART_FCR_XFR) {
        /* Transmit FIFO is always empty here (immediate transmission): it "becomes"
         * empty, which is a THRE interrupt condition. */
        s->lsr |= UART_LSR_THRE;
        s->thr_ipending = true;
    }
    s->fcr = val & (UART_FCR_FE | UART_FCR_DMS | UART_FCR_ITL);
}

void serial_ioport_write(void *opaque, hwaddr addr, uint64_t val64, unsigned size)
{
    SerialState *s = opaque;
    uint8_t val = (uint8_t)val64;

    switch (addr & 7) {
    case UART_THR:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | val;
            break;
        }
        s->thr_ipending = false;
        s->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
        serial_transmit(s, val);
        break;
    case UART_IER:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (uint16_t)(val << 8);
            break;
        } else {
            uint8_t changed = (s->ier ^ val) & 0x0f;
            s->ier = val & 0x0f;
            /* Enabling ETBEI while THR is empty raises the THRE interrupt at once;
             * disabling it drops a pending one (as QEMU). */
            if (changed & UART_IER_ETBEI) {
                s->thr_ipending = (s->ier & UART_IER_ETBEI) && (s->lsr & UART_LSR_THRE);
            }
        }
        break;
    case UART_FCR:
        serial_write_fcr(s, val);
        if (s->chr && !serial_loopback(s)) {
            chardev_accept_input(s->chr); /* the receiver may take more bytes now */
        }
        break;
    case UART_LCR:
        s->lcr = val;
        break;
    case UART_MCR: {
        bool was_loop = serial_loopback(s);
        s->mcr = val & 0x1f;
        if (was_loop && !serial_loopback(s) && s->chr) {
            chardev_accept_input(s->chr); /* the line input is connected again */
        }
        break;
    }
    case UART_LSR:
        /* LSR is read-only in normal operation (factory test only). */
        break;
    case UART_MSR:
        break;
    case UART_SCR:
        s->scr = val;
        break;
    }
    serial_update_irq(s);
}

static uint8_t serial_read_rbr(SerialState *s)
{
    uint8_t ret;

    if (serial_fifo_enabled(s)) {
        if (s->rx_count == 0) {
            return 0; /* empty FIFO: QEMU reads 0 (the datasheet leaves it undefined) */
        }
        ret = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % UART_FIFO_LENGTH;
        s->rx_count--;
        if (s->rx_count == 0) {
            s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
        }
        /* A read clears the timeout indication and restarts the timeout window. */
        s->timeout_ipending = false;
        serial_rearm_timeout(s);
    } else {
        ret = s->rbr;
        s->rx_count = 0;
        s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
    }
    if (s->chr && !serial_loopback(s)) {
        chardev_accept_input(s->chr);
    }
    return ret;
}

uint64_t serial_ioport_read(void *opaque, hwaddr addr, unsigned size)
{
    SerialState *s = opaque;
    uint8_t ret = 0xff;

    switch (addr & 7) {
    case UART_RBR:
        if (s->lcr & UART_LCR_DLAB) {
            ret = s->divider & 0xff;
            break;
        }
        ret = serial_read_rbr(s);
        break;
    case UART_IER:
        ret = (s->lcr & UART_LCR_DLAB) ? (s->divider >> 8) : s->ier;
        break;
    case UART_IIR:
        ret = s->iir;
        /* Reading IIR clears a THRE interrupt when it is the one reported (§8.6). */
        if ((ret & UART_IIR_ID) == UART_IIR_THRI && !(ret & UART_IIR_NO_INT)) {
            s->thr_ipending = false;
        }
        break;
    case UART_LCR:
        ret = s->lcr;
        break;
    case UART_MCR:
        ret = s->mcr;
        break;
    case UART_LSR:
        ret = s->lsr;
        /* Reading LSR clears the error bits and the line status interrupt. */
        s->lsr &= ~(UART_LSR_INT_ANY | UART_LSR_ERR);
        break;
    case UART_MSR:
        if (serial_loopback(s)) {
            ret = serial_loopback_msr(s);
        } else {
            ret = s->msr;
            s->msr &= ~UART_MSR_DELTA;
        }
        break;
    case UART_SCR:
        ret = s->scr;
        break;
    }
    serial_update_irq(s);
    return ret;
}

/* Chardev frontend: how many bytes the receiver can take now. */
static int serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    if (serial_loopback(s)) {
        return 0; /* the line input is disconnected in loopback mode */
    }
    if (serial_fifo_enabled(s)) {
        return UART_FIFO_LENGTH - s->rx_count;
    }
    return (s->lsr & UART_LSR_DR) ? 0 : 1;
}

static void serial_receive(void *opaque, const uint8_t *buf, int len)
{
    SerialState *s = opaque;

    if (serial_loopback(s)) {
        return;
    }
    for (int i = 0; i < len; i++) {
        serial_receive_byte(s, buf[i]);
    }
    serial_update_irq(s);
}

static void serial_event(void *opaque, ChardevEvent ev)
{
    SerialState *s = opaque;

    if (ev == CHR_EVENT_BREAK && !serial_loopback(s)) {
        /* A break condition delivers a zero character with BI set (§8.7 LSR bit 4). */
        serial_receive_byte(s, 0);
        s->lsr |= UART_LSR_BI | UART_LSR_ERR;
        serial_update_irq(s);
    }
}

void serial_reset(SerialState *s)
{
    /* Master reset values, PC16550D Table IV. */
    s->ier = 0;
    s->iir = UART_IIR_NO_INT;
    s->fcr = 0;
    s->lcr = 0;
    /* MCR: the datasheet resets it to 0; QEMU resets OUT2 on (the PC's interrupt gate),
     * and guests may rely on that, so we follow QEMU. */
    s->mcr = UART_MCR_OUT2;
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    /* Modem inputs: a connected line has CTS, DSR and DCD asserted (as QEMU). */
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->scr = 0;
    s->rbr = 0;
    s->divider = 0x0c; /* 9600 baud with the 1.8432 MHz clock, as PC firmware leaves it */
    s->thr_ipending = false;
    serial_rx_reset(s);
    memset(s->rx_fifo, 0, sizeof(s->rx_fifo));
    s->irq_level = 0;
    irq_lower(s->irq);
}

const MemoryRegionOps serial_io_ops = {
    .read = serial_ioport_read,
    .write = serial_ioport_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 1,
};

bool serial_realize_core(SerialState *s, Error **errp)
{
    if (s->baudbase == 0) {
        error_setg(errp, "baudbase must be non-zero");
        return false;
    }
    s->fifo_timeout_timer = timer_new_ns(KEMU_CLOCK_VIRTUAL, serial_fifo_timeout, s);
    if (s->chr) {
        s->fe.can_read = serial_can_receive;
        s->fe.read = serial_receive;
        s->fe.event = serial_event;
        s->fe.opaque = s;
        if (!chardev_attach(s->chr, &s->fe, errp)) {
            return false;
        }
    }
    serial_reset(s);
    return true;
}

static int serial_post_load(void *opaque, int version_id)
{
    SerialState *s = opaque;

    if (s->rx_head >= UART_FIFO_LENGTH || s->rx_count > UART_FIFO_LENGTH) {
        return -1;
    }
    serial_rearm_timeout(s);
    s->irq_level = -1; /* force the line to be driven again */
    serial_update_irq(s);
    return 0;
}

static const VMStateField vmstate_serial_fields[] = {
    VMSTATE_UINT16(divider, SerialState),
    VMSTATE_UINT8(rbr, SerialState),
    VMSTATE_UINT8(ier, SerialState),
    VMSTATE_UINT8(iir, SerialState),
    VMSTATE_UINT8(lcr, SerialState),
    VMSTATE_UINT8(mcr, SerialState),
    VMSTATE_UINT8(lsr, SerialState),
    VMSTATE_UINT8(msr, SerialState),
    VMSTATE_UINT8(scr, SerialState),
    VMSTATE_UINT8(fcr, SerialState),
    VMSTATE_UINT8_ARRAY(rx_fifo, SerialState, UART_FIFO_LENGTH),
    VMSTATE_UINT8(rx_head, SerialState),
    VMSTATE_UINT8(rx_count, SerialState),
    VMSTATE_BOOL(thr_ipending, SerialState),
    VMSTATE_BOOL(timeout_ipending, SerialState),
    VMSTATE_END_OF_LIST(),
};

const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = serial_post_load,
    .fields = vmstate_serial_fields,
};
