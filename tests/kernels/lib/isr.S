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
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
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
    popal
    addl $8, %esp               /* vector and error code */
    iret

    .section .note.GNU-stack, "", @progbits
