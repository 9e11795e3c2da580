/*
 * isr.S: one 16-byte stub per IDT vector (SDM Vol. 3A §6.12: the CPU pushes an error code for
 * vectors 8, 10-14, 17, 21, 29 and 30 only; the stubs push a dummy 0 for the others so every
 * frame is a struct regs) and the common path into isr_dispatch().
 */
    .text
    .code32
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || \
        (vec == 29) || (vec == 30)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    cld
    pushl %esp
    call isr_dispatch
    addl $4, %esp
    /*
     * Return with popf + lret rather than iret. Both are exact for a same-privilege return
     * with flat segments (SDM Vol. 2 IRET: no stack switch at CPL 0 -> CPL 0); the only
     * difference is that POPF has no interrupt shadow, so a new interrupt may nest one frame
     * before the lret, which is harmless. The reason: KVM's instruction emulator handles
     * protected-mode IRET only in real mode, and a software-only /dev/kvm (as on the CI
     * machines) emulates all CPL 0 code with it. Frame [EIP][CS][EFLAGS] becomes
     * [EFLAGS][EIP][CS].
     */
    movl 40(%esp), %eax         /* EIP (after 32 bytes of pushal, vector, error code) */
    movl 44(%esp), %ebx         /* CS */
    movl 48(%esp), %ecx         /* EFLAGS */
    movl %ecx, 40(%esp)
    movl %eax, 44(%esp)
    movl %ebx, 48(%esp)
    popal
    addl $8, %esp               /* vector and error code */
    popfl
    lret

    .section .note.GNU-stack, "", @progbits
