/*
 * realmode.c: leaves protected mode for real mode and comes back (realmode_asm.S), then checks
 * what the real-mode code recorded: segment:offset addressing, INT n / IRET through the IVT
 * ("softint=0" skips INT n, which a KVM without VT-x/SVM cannot run), a pending LAPIC timer
 * interrupt taken through the IVT after STI,
 * 16-bit arithmetic flags, a 32-bit operand-size prefix, and #DE delivered through IVT
 * vector 0 with CS:IP of the faulting instruction (SDM Vol. 3A §20.1.4). The IVT entries it
 * uses are restored afterwards.
 */
#include "lib/libk.h"

TEST_NAME("realmode");

#define RM_BASE 0x7000u
#define RM_HW_VECTOR 0x81

extern char rm_blob_start[], rm_blob_end[];
extern uint16_t rm_res_seg, rm_res_int, rm_res_int_count, rm_res_flags, rm_res_de,
    rm_res_de_ip, rm_res_de_cs, rm_div_ip, rm_res_hw;
extern uint8_t rm_do_int;
extern uint32_t rm_res_32;
void realmode_run(void);
void gdt_load(void);

/* A result variable's copy in the relocated blob. */
#define RES(var) (*(volatile __typeof__(var) *)(uintptr_t)(RM_BASE + \
                  ((uintptr_t)&(var) - (uintptr_t)rm_blob_start)))

/* The IVT lives at address 0; hide the constant so the compiler does not treat it as NULL. */
static volatile uint32_t *ivt_base(void)
{
    uintptr_t p = 0;
    __asm__("" : "+r"(p));
    return (volatile uint32_t *)p;
}

int main(void)
{
    uint32_t size = (uint32_t)(rm_blob_end - rm_blob_start);
    CHECK(size < 0x1000, "real-mode blob too big (%u bytes)", size);
    volatile uint32_t *ivt = ivt_base();
    uint32_t saved0 = ivt[0], saved80 = ivt[0x80], saved81 = ivt[RM_HW_VECTOR];
    memcpy((void *)RM_BASE, rm_blob_start, size);
    bool softint = cmdline_int("softint", 1) != 0;
    RES(rm_do_int) = softint;

    /* Leave a LAPIC timer interrupt pending (IF is clear) for the real-mode code to take. */
    time_init();
    pic_disable();
    lapic_enable();
    lapic_timer_start(RM_HW_VECTOR, 1000, 0xb, false);      /* divide by 1, one shot */
    /* Wait for the interrupt itself, not just the count: the IRR bit (SDM §10.8.4) says it is
     * pending, which an emulator may get to after the current count already reads 0. */
    uint32_t irr = 0x200 + 0x10 * (RM_HW_VECTOR / 32), bit = 1u << (RM_HW_VECTOR % 32);
    uint64_t deadline = time_us() + 1000000;
    while (!(lapic_read(irr) & bit) && time_us() < deadline) {
        cpu_relax();
    }
    CHECK(lapic_read(irr) & bit, "LAPIC timer interrupt never became pending (IRR)");

    realmode_run();
    gdt_load();
    idt_load();
    lapic_eoi();
    ivt[0] = saved0;
    ivt[0x80] = saved80;
    ivt[RM_HW_VECTOR] = saved81;

    printf("segment:offset read back 0x%04x\n", RES(rm_res_seg));
    printf("int 0x80: ax 0x%04x, handler ran %u time(s)\n", RES(rm_res_int),
           RES(rm_res_int_count));
    printf("flags after 0xffff + 1: 0x%04x\n", RES(rm_res_flags));
    printf("32-bit ror: 0x%08x\n", RES(rm_res_32));
    printf("#DE: %u time(s), pushed %04x:%04x, divw at %04x:%04x\n", RES(rm_res_de),
           RES(rm_res_de_cs), RES(rm_res_de_ip), RM_BASE >> 4, RES(rm_div_ip));
    CHECK(RES(rm_res_seg) == 0x1234, "segment:offset addressing read 0x%x", RES(rm_res_seg));
    if (softint) {
        CHECK(RES(rm_res_int) == 0x6666 && RES(rm_res_int_count) == 1, "int 0x80 via the IVT");
    } else {
        printf("int 0x80 not tried (softint=0)\n");
    }
    printf("hardware interrupt through the IVT: %u time(s)\n", RES(rm_res_hw));
    CHECK(RES(rm_res_hw) == 1, "LAPIC timer interrupt taken %u times in real mode",
          RES(rm_res_hw));
    CHECK((RES(rm_res_flags) & 0x8d5) == 0x55, "flags 0x%x, expected CF PF AF ZF only",
          RES(rm_res_flags));
    CHECK(RES(rm_res_32) == 0xef89abcd, "32-bit operand ror gave 0x%x", RES(rm_res_32));
    CHECK(RES(rm_res_de) == 1, "#DE handler ran %u times", RES(rm_res_de));
    CHECK(RES(rm_res_de_cs) == (RM_BASE >> 4) && RES(rm_res_de_ip) == RES(rm_div_ip),
          "#DE pushed %04x:%04x, divw at %04x:%04x", RES(rm_res_de_cs), RES(rm_res_de_ip),
          RM_BASE >> 4, RES(rm_div_ip));
    return 0;
}
