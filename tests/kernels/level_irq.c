/*
 * level_irq.c: a level-triggered interrupt through the I/O APIC (82093AA datasheet §3.2.4,
 * Remote IRR): COM1's THR-empty interrupt on ISA IRQ 4 is programmed level/active-high. Each
 * interrupt's handler clears the source (reading IIR drops THRE's request) and sends EOI;
 * the main loop then writes a byte, whose transmission raises the line again.  Every new
 * interrupt needs the previous EOI to have reached the I/O APIC and cleared Remote IRR, so
 * N interrupts prove the EOI path (under split irqchip: KVM's EOI exit to the userspace I/O
 * APIC).  A line still asserted at EOI must be delivered again (checked once at the end).
 */
#include "lib/libk.h"

TEST_NAME("level_irq");

#define COM1 0x3f8
#define LEVEL_VECTOR 0x35
#define ROUNDS 8

static volatile uint32_t irq_count;
static volatile uint32_t handled_no_clear;
static volatile bool clear_source = true;

static void level_handler(struct regs *r)
{
    irq_count++;
    if (clear_source) {
        inb(COM1 + 2);                 /* IIR read clears the THRE interrupt */
    } else {
        handled_no_clear++;
        if (handled_no_clear >= 2) {
            outb(COM1 + 1, 0);         /* stop the source after seeing the redelivery */
        }
    }
    lapic_eoi();
}

static bool wait_count(uint32_t n, uint32_t timeout_us)
{
    uint64_t deadline = time_us() + timeout_us;
    while (irq_count < n && time_us() < deadline) {
        cpu_relax();
    }
    return irq_count >= n;
}

int main(void)
{
    struct madt_info mi;
    uint64_t entry;
    CHECK(madt_parse(&mi), "no MADT");
    time_init();
    pic_disable();
    lapic_enable();
    int pin = madt_isa_route(&mi, 4, LEVEL_VECTOR, &entry);
    CHECK(pin >= 0, "ISA IRQ 4 not on the IOAPIC");
    entry = (entry & ~(uint64_t)IOREDTBL_LOW) | IOREDTBL_LEVEL;
    irq_set_handler(LEVEL_VECTOR, level_handler);
    ioapic_set_redir(mi.ioapic_addr, pin, entry);

    uint64_t deadline = time_us() + 100000;
    while (!(inb(COM1 + 5) & 0x40) && time_us() < deadline) {
        cpu_relax();
    }
    outb(COM1 + 4, 0x0b);              /* DTR | RTS | OUT2 */
    irq_enable();
    outb(COM1 + 1, 0x02);              /* IER: ETBEI; THR is empty: the line rises now */
    for (uint32_t i = 1; i <= ROUNDS; i++) {
        if (!wait_count(i, 2000000)) {
            break;
        }
        outb(COM1, 0);                 /* a NUL byte: THRE comes back after it is sent */
    }
    uint32_t rounds = irq_count;
    /* Now leave the source asserted at EOI: the I/O APIC must deliver it again. */
    clear_source = false;
    outb(COM1 + 1, 0);
    outb(COM1 + 1, 0x02);
    bool redelivered = wait_count(rounds + 2, 2000000);
    irq_disable();
    outb(COM1 + 1, 0);
    ioapic_set_redir(mi.ioapic_addr, pin, IOREDTBL_MASKED);
    outb(COM1 + 4, 0x03);
    printf("level-triggered IRQ 4 on IOAPIC pin %d: %u interrupts for %u rounds, redelivery %s\n",
           pin, rounds, ROUNDS, redelivered ? "yes" : "no");
    CHECK(rounds >= ROUNDS, "only %u level-triggered interrupts: an EOI did not clear Remote IRR",
          rounds);
    CHECK(redelivered, "a line still asserted at EOI was not delivered again");
    return 0;
}
