/*
 * serial.c: the COM1 16550A (PC16550D datasheet §8: register set, FIFO control, modem control
 * loopback, interrupt identification): scratch, LCR and divisor latch read back; IIR reports
 * enabled FIFOs (bits 7:6 = 11); loopback mode returns transmitted bytes in order through the
 * FIFO and mirrors MCR outputs in MSR; a THR-empty interrupt reaches the CPU through the IOAPIC
 * pin for ISA IRQ 4 (with OUT2 set, as PC hardware requires) and is identified in IIR.
 * Nothing is printed while the UART is in loopback or has interrupts enabled.
 */
#include "lib/libk.h"

TEST_NAME("serial");

#define COM1 0x3f8
#define SERIAL_VECTOR 0x34

static volatile uint32_t irq_count;
static volatile uint8_t irq_iir;

static void serial_handler(struct regs *r)
{
    irq_iir = inb(COM1 + 2);        /* reading IIR clears a THRE interrupt */
    irq_count++;
    outb(COM1 + 1, 0);              /* IER off: no re-arming */
    lapic_eoi();
}

int main(void)
{
    struct madt_info mi;
    CHECK(madt_parse(&mi), "no MADT");
    time_init();
    pic_disable();
    lapic_enable();

    outb(COM1 + 7, 0x5a);
    uint8_t scr1 = inb(COM1 + 7);
    outb(COM1 + 7, 0xa5);
    uint8_t scr2 = inb(COM1 + 7);
    printf("scratch: 0x%02x 0x%02x\n", scr1, scr2);
    CHECK(scr1 == 0x5a && scr2 == 0xa5, "scratch register read back 0x%02x 0x%02x", scr1, scr2);

    outb(COM1 + 3, 0x1b);           /* 8 data bits, even parity, 1 stop bit */
    uint8_t lcr = inb(COM1 + 3);
    outb(COM1 + 3, 0x80);           /* DLAB */
    outb(COM1 + 0, 0x0c);
    outb(COM1 + 1, 0x00);
    uint8_t dll = inb(COM1 + 0), dlm = inb(COM1 + 1);
    outb(COM1 + 0, 0x01);           /* back to 115200 8N1 */
    outb(COM1 + 3, 0x03);
    printf("LCR read back 0x%02x, divisor latch 0x%02x%02x\n", lcr, dlm, dll);
    CHECK(lcr == 0x1b, "LCR read back 0x%02x", lcr);
    CHECK(dll == 0x0c && dlm == 0x00, "divisor latch read back 0x%02x%02x", dlm, dll);

    outb(COM1 + 2, 0xc7);           /* FIFO on, cleared */
    uint8_t iir = inb(COM1 + 2);
    printf("IIR 0x%02x\n", iir);
    CHECK((iir & 0xc0) == 0xc0, "IIR 0x%02x: FIFOs not reported enabled (not a 16550A)", iir);
    CHECK(iir & 0x01, "IIR 0x%02x: interrupt pending with IER = 0", iir);

    /* Loopback: no output reaches the console from here until MCR is restored. */
    uint64_t deadline = time_us() + 100000;
    while (!(inb(COM1 + 5) & 0x40) && time_us() < deadline) {
        cpu_relax();            /* transmitter empty before switching */
    }
    outb(COM1 + 4, 0x10 | 0x0a);    /* LOOP | OUT2 | RTS */
    uint8_t msr = inb(COM1 + 6);
    static const uint8_t data[3] = { 'k', 0x00, 0xff };
    uint8_t got[3] = { 0 }, lsr_before = inb(COM1 + 5), lsr_after;
    int n = 0;
    for (int i = 0; i < 3; i++) {
        outb(COM1, data[i]);
    }
    deadline = time_us() + 200000;
    while (n < 3 && time_us() < deadline) {
        if (inb(COM1 + 5) & 0x01) {
            got[n++] = inb(COM1);
        }
    }
    lsr_after = inb(COM1 + 5);
    outb(COM1 + 4, 0x03);           /* DTR | RTS, loopback off */
    printf("loopback: MSR 0x%02x, LSR before 0x%02x after 0x%02x, received %d bytes:", msr,
           lsr_before, lsr_after, n);
    for (int i = 0; i < n; i++) {
        printf(" %02x", got[i]);
    }
    printf("\n");
    CHECK((msr & 0xf0) == 0x90, "loopback MSR 0x%02x, expected CTS and DCD only (0x9x)", msr);
    CHECK(!(lsr_before & 0x01), "LSR 0x%02x: data ready before anything was sent", lsr_before);
    CHECK(n == 3 && !memcmp(got, data, 3), "loopback returned %d bytes, wrong data", n);
    CHECK(!(lsr_after & 0x01), "LSR 0x%02x: data ready after the FIFO was drained", lsr_after);

    /* THRE interrupt through the IOAPIC. */
    uint64_t entry;
    int pin = madt_isa_route(&mi, 4, SERIAL_VECTOR, &entry);
    CHECK(pin >= 0, "IRQ4's GSI %u is not on the IOAPIC", mi.isa_gsi[4]);
    irq_set_handler(SERIAL_VECTOR, serial_handler);
    ioapic_set_redir(mi.ioapic_addr, pin, entry);
    deadline = time_us() + 100000;
    while (!(inb(COM1 + 5) & 0x20) && time_us() < deadline) {
        cpu_relax();
    }
    outb(COM1 + 4, 0x0b);           /* DTR | RTS | OUT2 (the PC's IRQ enable) */
    irq_enable();
    outb(COM1 + 1, 0x02);           /* IER: ETBEI, THR is empty so this raises at once */
    deadline = time_us() + 1000000;
    while (!irq_count && time_us() < deadline) {
        cpu_relax();
    }
    irq_disable();
    outb(COM1 + 1, 0);
    ioapic_set_redir(mi.ioapic_addr, pin, IOREDTBL_MASKED);
    outb(COM1 + 4, 0x03);
    printf("THRE interrupt: %u on IOAPIC pin %d, IIR in handler 0x%02x\n", irq_count, pin,
           irq_iir);
    CHECK(irq_count == 1, "%u serial interrupts, expected 1", irq_count);
    CHECK((irq_iir & 0x0f) == 0x02, "IIR 0x%02x in the handler, expected THRE (0x2)", irq_iir);
    return 0;
}
