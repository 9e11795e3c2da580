/*
 * exceptions.c: CPU exceptions reach the IDT handler with the right vector, error code and
 * saved EIP (SDM Vol. 3A §6.15: faults save the address of the faulting instruction):
 * #DE from divide by zero, #UD from ud2, #GP(selector) from loading DS with a selector past
 * the GDT limit; execution resumes after each. With "unhandled=1" it raises #UD with no
 * handler, to check the runtime's failure path (FAIL line, exit code 2). No int3/int n: KVM's
 * instruction emulator, which a software-only /dev/kvm uses for all CPL 0 code, cannot do them
 * in protected mode.
 */
#include "lib/libk.h"

TEST_NAME("exceptions");

static volatile uint32_t seen_vector, seen_error, seen_eip, seen_count;
static uint32_t fault_eip, resume_eip;

static void handler(struct regs *r)
{
    seen_vector = r->vector;
    seen_error = r->error;
    seen_eip = r->eip;
    seen_count++;
    r->eip = resume_eip;
}

static __attribute__((noinline)) void trigger_de(void)
{
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl $2f, %1\n\t"
                     "xorl %%ecx, %%ecx\n\t"
                     "movl $1, %%eax\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "1: divl %%ecx\n\t"
                     "2:"
                     : "=m"(fault_eip), "=m"(resume_eip) :: "eax", "ecx", "edx", "memory");
}

static __attribute__((noinline)) void trigger_ud(void)
{
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl $2f, %1\n\t"
                     "1: ud2\n\t"
                     "2:"
                     : "=m"(fault_eip), "=m"(resume_eip) :: "memory");
}

static __attribute__((noinline)) void trigger_gp(void)
{
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl $2f, %1\n\t"
                     "movw $0x28, %%ax\n\t"
                     "1: movw %%ax, %%ds\n\t"
                     "2:"
                     : "=m"(fault_eip), "=m"(resume_eip) :: "eax", "memory");
}

static void expect(const char *what, void (*trigger)(void), uint32_t vector, uint32_t error)
{
    seen_count = 0;
    irq_set_handler((uint8_t)vector, handler);
    trigger();
    irq_set_handler((uint8_t)vector, NULL);
    printf("%s: %u exception(s), vector %u error 0x%x eip 0x%08x (faulting insn 0x%08x)\n",
           what, seen_count, seen_vector, seen_error, seen_eip, fault_eip);
    CHECK(seen_count == 1, "%s: %u exceptions, expected 1", what, seen_count);
    CHECK(seen_vector == vector, "%s: vector %u, expected %u", what, seen_vector, vector);
    CHECK(seen_error == error, "%s: error code 0x%x, expected 0x%x", what, seen_error, error);
    CHECK(seen_eip == fault_eip, "%s: saved EIP 0x%x, faulting instruction at 0x%x", what,
          seen_eip, fault_eip);
}

int main(void)
{
    if (cmdline_int("unhandled", 0)) {
        /* Checks the failure path itself: the default handler must report and exit with
         * EXIT_EXCEPTION (VM status 5). */
        printf("raising #UD with no handler\n");
        trigger_ud();
        test_fail(EXIT_FAIL, "ud2 did not fault");
    }
    expect("#DE", trigger_de, 0, 0);
    expect("#UD", trigger_ud, 6, 0);
    expect("#GP", trigger_gp, 13, 0x28);
    uint16_t ds;
    __asm__ volatile("movw %%ds, %0" : "=r"(ds));
    CHECK(ds == SEL_DATA, "DS changed to 0x%x by the faulting load", ds);
    return 0;
}
