/*
 * desc.c: the IDT (SDM Vol. 3A §6.10-6.11: 32-bit interrupt gates, DPL 0) and C-level dispatch.
 * CPU exceptions (vectors 0-31) print vector, error code and EIP and fail the test unless a
 * test registered a handler for that vector; other vectors go to a registered handler; an
 * interrupt nobody registered fails the test, except the LAPIC spurious vector, which is
 * ignored (the SDM, §10.9, requires no EOI for it).
 */
#include "libk.h"

struct idt_entry {
    uint16_t offset_lo, selector;
    uint8_t zero, type_attr;
    uint16_t offset_hi;
} PACKED;

static struct idt_entry idt[256] __attribute__((aligned(8)));
static irq_handler_t handlers[256];
extern char isr_stubs[];

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF(coproc)", "#TS", "#NP",
    "#SS", "#GP", "#PF", "reserved", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void idt_init(void)
{
    static bool done;
    if (done) {
        return;
    }
    for (int i = 0; i < 256; i++) {
        uint32_t addr = (uint32_t)(uintptr_t)(isr_stubs + 16 * i);
        idt[i].offset_lo = (uint16_t)addr;
        idt[i].selector = SEL_CODE;
        idt[i].zero = 0;
        idt[i].type_attr = 0x8e;        /* present, DPL 0, 32-bit interrupt gate */
        idt[i].offset_hi = (uint16_t)(addr >> 16);
    }
    done = true;
}

void idt_load(void)
{
    struct {
        uint16_t limit;
        uint32_t base;
    } PACKED ptr = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" :: "m"(ptr));
}

void irq_set_handler(uint8_t vector, irq_handler_t h)
{
    handlers[vector] = h;
}

void isr_dispatch(struct regs *r);

void isr_dispatch(struct regs *r)
{
    if (r->vector < 32 && handlers[r->vector]) {
        handlers[r->vector](r);         /* a test expecting this exception */
        return;
    }
    if (r->vector < 32) {
        const char *name = exception_names[r->vector] ? exception_names[r->vector] : "?";
        uint32_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        printf("exception %u %s error=0x%x eip=0x%08x cs=0x%x eflags=0x%x cr2=0x%x\n",
               r->vector, name, r->error, r->eip, r->cs, r->eflags, cr2);
        printf("eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x\n",
               r->eax, r->ebx, r->ecx, r->edx, r->esi, r->edi, r->ebp);
        test_fail(EXIT_EXCEPTION, "unexpected exception %u (%s) at eip 0x%x", r->vector, name,
                  r->eip);
    }
    if (handlers[r->vector]) {
        handlers[r->vector](r);
        return;
    }
    if (r->vector == SPURIOUS_VECTOR) {
        return;
    }
    test_fail(EXIT_UNEXPECTED_IRQ, "unexpected interrupt vector %u at eip 0x%x", r->vector,
              r->eip);
}
