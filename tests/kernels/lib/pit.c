/*
 * pit.c: Intel 8254 PIT channel 0 (8254 datasheet: control word at 0x43, mode 2 rate
 * generator, LSB then MSB of the count) and 8259A PIC set-up (8259A datasheet: ICW1-ICW4 then
 * OCW1 masks) so legacy PIC interrupts never reach the CPU while tests use the APICs.
 */
#include "libk.h"

void pit_start_periodic(uint32_t hz)
{
    uint32_t div = PIT_HZ / hz;
    if (div > 0xffff) {
        div = 0xffff;
    }
    outb(0x43, 0x34);                   /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(0x40, (uint8_t)div);
    outb(0x40, (uint8_t)(div >> 8));
}

void pit_stop(void)
{
    /* Mode 0 with no count written: OUT goes low and counting waits for a count. */
    outb(0x43, 0x30);
}

void pic_disable(void)
{
    outb(0x20, 0x11);                   /* ICW1: edge, cascade, ICW4 needed */
    outb(0xa0, 0x11);
    outb(0x21, 0x20);                   /* ICW2: vector bases 0x20 / 0x28 */
    outb(0xa1, 0x28);
    outb(0x21, 0x04);                   /* ICW3: slave on IR2 */
    outb(0xa1, 0x02);
    outb(0x21, 0x01);                   /* ICW4: 8086 mode */
    outb(0xa1, 0x01);
    outb(0x21, 0xff);                   /* OCW1: mask everything */
    outb(0xa1, 0xff);
}
