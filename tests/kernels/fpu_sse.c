/*
 * fpu_sse.c: x87 and SSE/SSE2 state and arithmetic (SDM Vol. 1 ch. 8, 10, 11; Vol. 3A §2.5,
 * §13.1): CR0.EM/MP/NE and CR4.OSFXSR/OSXMMEXCPT set-up, FNINIT defaults (FCW 0x037f, MXCSR
 * 0x1f80), x87 FSQRT and FDIV correctly rounded with precision control at double, a masked
 * x87 divide by zero giving +inf and setting ZE, SSE ADDPS/MULPS, SSE2 SQRTSD, CVTSI2SD,
 * CVTTSD2SI and PADDD, an FXSAVE/FXRSTOR round trip of FCW and XMM registers, #NM when CR0.TS
 * is set (resumed after CLTS), a masked SSE divide by zero (+inf, MXCSR.ZE) and #XM from an
 * unmasked one ("xm=0" skips #XM).
 */
#include "lib/libk.h"

TEST_NAME("fpu_sse");

/* The kernels are built with -mgeneral-regs-only, so compiled C never touches x87/XMM state
 * and the asm statements below need not (and cannot) list XMM registers as clobbered. */

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

static volatile uint32_t nm_count, xm_count, xm_mxcsr;
static uint32_t xm_resume;
static uint8_t fxarea[512] __attribute__((aligned(16)));

static uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void nm_handler(struct regs *r)
{
    nm_count++;
    __asm__ volatile("clts");       /* the faulting instruction is restarted */
}

static void xm_handler(struct regs *r)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    xm_mxcsr = m;
    xm_count++;
    r->eip = xm_resume;
}

/* op 0: sqrt(a); op 1: a / b (FIDIV with a memory operand: no operand-order ambiguity). */
static uint64_t x87_op(const char *what, uint16_t cw, int32_t a, int32_t b, int op)
{
    uint64_t out = 0;
    if (op == 0) {
        __asm__ volatile("fninit\n\tfldcw %1\n\tfildl %2\n\tfsqrt\n\tfstpl %0"
                         : "=m"(out) : "m"(cw), "m"(a));
    } else {
        __asm__ volatile("fninit\n\tfldcw %1\n\tfildl %2\n\tfidivl %3\n\tfstpl %0"
                         : "=m"(out) : "m"(cw), "m"(a), "m"(b));
    }
    printf("x87 %s = 0x%016llx\n", what, (unsigned long long)out);
    return out;
}

int main(void)
{
    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    printf("CPUID.1: EDX 0x%08x ECX 0x%08x\n", d, c);
    CHECK(d & (1u << 0), "no x87 FPU");
    CHECK(d & (1u << 24), "no FXSAVE/FXRSTOR");
    CHECK(d & (1u << 25) && d & (1u << 26), "no SSE/SSE2");

    __asm__ volatile("mov %0, %%cr0" :: "r"((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE));
    uint32_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" :: "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT));

    uint16_t fcw = 0, fsw = 0;
    uint32_t mxcsr = 0;
    __asm__ volatile("fninit\n\tfnstcw %0\n\tfnstsw %1" : "=m"(fcw), "=m"(fsw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    printf("after FNINIT: FCW 0x%04x FSW 0x%04x; MXCSR 0x%08x\n", fcw, fsw, mxcsr);
    CHECK(fcw == 0x037f, "FCW 0x%x after FNINIT", fcw);
    CHECK(fsw == 0, "FSW 0x%x after FNINIT", fsw);
    CHECK(mxcsr == 0x1f80, "MXCSR 0x%x at reset", mxcsr);

    /* Precision control = double (CW 0x027f) so results are rounded once, to 53 bits. */
    CHECK(x87_op("sqrt(2)", 0x027f, 2, 0, 0) == 0x3ff6a09e667f3bcdull, "x87 sqrt(2) wrong");
    CHECK(x87_op("7/3", 0x027f, 7, 3, 1) == 0x4002aaaaaaaaaaabull, "x87 7/3 wrong");
    CHECK(x87_op("1/0", 0x027f, 1, 0, 1) == 0x7ff0000000000000ull, "x87 1/0 is not +inf");
    __asm__ volatile("fnstsw %0" : "=m"(fsw));
    printf("FSW after 1/0: 0x%04x\n", fsw);
    CHECK(fsw & (1u << 2), "x87 ZE not set by a divide by zero (FSW 0x%x)", fsw);
    __asm__ volatile("fnclex");

    /* SSE: {1.5, 2.25, 3.75, 0} + {1.5, 2.25, 3.75, 0} and * {2, 2, 2, 2}. */
    static const uint32_t va[4] __attribute__((aligned(16))) =
        { 0x3fc00000, 0x40100000, 0x40700000, 0 };
    static const uint32_t two[4] __attribute__((aligned(16))) =
        { 0x40000000, 0x40000000, 0x40000000, 0x40000000 };
    uint32_t sum[4] __attribute__((aligned(16))), prod[4] __attribute__((aligned(16)));
    __asm__ volatile("movaps %2, %%xmm0\n\t"
                     "addps %%xmm0, %%xmm0\n\t"
                     "movaps %%xmm0, %0\n\t"
                     "mulps %3, %%xmm0\n\t"
                     "movups %%xmm0, %1"
                     : "=m"(sum), "=m"(prod) : "m"(va), "m"(two));
    printf("addps: %08x %08x %08x %08x; mulps: %08x %08x %08x %08x\n", sum[0], sum[1], sum[2],
           sum[3], prod[0], prod[1], prod[2], prod[3]);
    CHECK(sum[0] == 0x40400000 && sum[1] == 0x40900000 && sum[2] == 0x40f00000 && sum[3] == 0,
          "ADDPS result wrong");
    CHECK(prod[0] == 0x40c00000 && prod[1] == 0x41100000 && prod[2] == 0x41700000 &&
          prod[3] == 0, "MULPS result wrong");

    /* SSE2 scalar double and integer SIMD. */
    uint64_t root = 0;
    int32_t trunc = 0, seven = 7;
    __asm__ volatile("cvtsi2sdl %2, %%xmm1\n\t"
                     "addsd %%xmm1, %%xmm1\n\t"         /* 14.0 */
                     "cvttsd2si %%xmm1, %%eax\n\t"
                     "movl %%eax, %1\n\t"
                     "movl $2, %%eax\n\t"
                     "cvtsi2sdl %%eax, %%xmm2\n\t"
                     "sqrtsd %%xmm2, %%xmm2\n\t"
                     "movsd %%xmm2, %0"
                     : "=m"(root), "=m"(trunc) : "m"(seven) : "eax");
    printf("sqrtsd(2) = 0x%016llx, cvttsd2si(7 + 7) = %d\n", (unsigned long long)root, trunc);
    CHECK(root == 0x3ff6a09e667f3bcdull, "SQRTSD(2) wrong");
    CHECK(trunc == 14, "CVTTSD2SI gave %d", trunc);
    static const uint32_t i1[4] __attribute__((aligned(16))) = { 1, 0xffffffff, 0x7fffffff, 5 };
    static const uint32_t i2[4] __attribute__((aligned(16))) = { 2, 1, 1, 0xfffffffb };
    uint32_t isum[4] __attribute__((aligned(16)));
    __asm__ volatile("movdqa %1, %%xmm3\n\tpaddd %2, %%xmm3\n\tmovdqa %%xmm3, %0"
                     : "=m"(isum) : "m"(i1), "m"(i2));
    printf("paddd: %08x %08x %08x %08x\n", isum[0], isum[1], isum[2], isum[3]);
    CHECK(isum[0] == 3 && isum[1] == 0 && isum[2] == 0x80000000 && isum[3] == 0,
          "PADDD result wrong");

    /* FXSAVE/FXRSTOR: FCW at offset 0, XMM4 at offset 160 + 4 * 16. */
    static const uint32_t pattern[4] __attribute__((aligned(16))) =
        { 0x01234567, 0x89abcdef, 0xdeadbeef, 0x0badf00d };
    uint16_t cw = 0x0e7f;
    __asm__ volatile("fldcw %1\n\tmovdqa %2, %%xmm4\n\tfxsave %0"
                     : "=m"(fxarea) : "m"(cw), "m"(pattern));
    uint16_t saved_fcw;
    memcpy(&saved_fcw, fxarea, 2);
    CHECK(saved_fcw == 0x0e7f, "FXSAVE stored FCW 0x%x", saved_fcw);
    CHECK(!memcmp(fxarea + 160 + 4 * 16, pattern, 16), "FXSAVE did not store XMM4");
    uint32_t back[4] __attribute__((aligned(16)));
    __asm__ volatile("fninit\n\tpxor %%xmm4, %%xmm4\n\tfxrstor %1\n\tfnstcw %0"
                     : "=m"(cw) : "m"(fxarea));
    __asm__ volatile("movdqa %%xmm4, %0" : "=m"(back));
    printf("FXRSTOR: FCW 0x%04x XMM4 %08x %08x %08x %08x\n", cw, back[0], back[1], back[2],
           back[3]);
    CHECK(cw == 0x0e7f, "FXRSTOR restored FCW 0x%x", cw);
    CHECK(!memcmp(back, pattern, 16), "FXRSTOR did not restore XMM4");

    /* #NM: CR0.TS set, the next x87 instruction faults; the handler's CLTS lets it restart. */
    irq_set_handler(7, nm_handler);
    __asm__ volatile("mov %0, %%cr0" :: "r"(read_cr0() | CR0_TS));
    __asm__ volatile("fninit");
    irq_set_handler(7, NULL);
    printf("#NM taken %u time(s), CR0.TS now %u\n", nm_count, (read_cr0() & CR0_TS) ? 1 : 0);
    CHECK(nm_count == 1, "#NM taken %u times", nm_count);

    /* Masked SSE divide by zero: +inf and MXCSR.ZE. */
    uint32_t zero = 0, one = 0x3f800000, quot = 0, flags = 0, reset = 0x1f80;
    __asm__ volatile("ldmxcsr %2\n\t"
                     "movd %3, %%xmm5\n\t"
                     "movd %4, %%xmm6\n\t"
                     "divss %%xmm6, %%xmm5\n\t"
                     "movd %%xmm5, %0\n\t"
                     "stmxcsr %1"
                     : "=m"(quot), "=m"(flags) : "m"(reset), "m"(one), "m"(zero));
    printf("divss 1/0 masked: 0x%08x, MXCSR 0x%08x\n", quot, flags);
    CHECK(quot == 0x7f800000, "masked SSE 1/0 gave 0x%x, not +inf", quot);
    CHECK(flags & (1u << 2), "MXCSR 0x%x: ZE flag not set", flags);

    /* #XM: unmask divide-by-zero (ZM, bit 9) and divide by zero again. "xm=0" leaves this
     * out for emulators known not to raise SIMD exceptions (QEMU 7.2's TCG). */
    if (cmdline_int("xm", 1)) {
        irq_set_handler(19, xm_handler);
        uint32_t unmasked = 0x1f80 & ~(1u << 9);
        __asm__ volatile("ldmxcsr %1\n\t"
                         "movd %2, %%xmm5\n\t"
                         "movd %3, %%xmm6\n\t"
                         "movl $1f, %0\n\t"
                         "divss %%xmm6, %%xmm5\n\t"
                         "1:"
                         : "=m"(xm_resume) : "m"(unmasked), "m"(one), "m"(zero));
        irq_set_handler(19, NULL);
        __asm__ volatile("ldmxcsr %0" :: "m"(reset));
        printf("#XM taken %u time(s), MXCSR in handler 0x%08x\n", xm_count, xm_mxcsr);
        CHECK(xm_count == 1, "#XM taken %u times", xm_count);
        CHECK(xm_mxcsr & (1u << 2), "MXCSR 0x%x: ZE flag not set", xm_mxcsr);
    } else {
        printf("#XM not tried (xm=0)\n");
    }
    return 0;
}
