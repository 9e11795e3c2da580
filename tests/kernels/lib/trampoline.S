/*
 * trampoline.S: the AP start-up code (SDM Vol. 3A §8.4.4 "MP Initialization Example"). It is
 * copied to TRAMPOLINE_ADDR (below 1 MiB, 4 KiB aligned) and the start-up IPI's vector is
 * TRAMPOLINE_ADDR >> 12, so each AP begins here in real mode at CS = TRAMPOLINE_ADDR >> 4,
 * IP = 0. It loads the kernel's flat GDT, sets CR0.PE, far-jumps to ap_entry32 at its linked
 * address, takes a stack by index (lock xadd) and calls ap_main(index).
 */
    .set MAX_AP_STACKS, 64

    .section .rodata
    .code16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_ptr - trampoline_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $ap_entry32
    .balign 4
    .word 0
tramp_gdt_ptr:
    .word 23                    /* the kernel's three-entry GDT (entry.S) */
    .long gdt
trampoline_end:

    .text
    .code32
ap_entry32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $1, %eax
    lock xaddl %eax, ap_next_index
    cmpl $MAX_AP_STACKS, %eax
    jae 2f                      /* more APs than stacks: park without touching memory */
    movl %eax, %ecx
    incl %ecx
    shll $12, %ecx
    leal ap_stacks(%ecx), %esp
    pushl %eax
    call ap_main
2:  cli
    hlt
    jmp 2b

    .data
    .balign 4
    .globl ap_next_index
ap_next_index:
    .long 0
    .bss
    .balign 4096
ap_stacks:
    .space 4096 * MAX_AP_STACKS

    .section .note.GNU-stack, "", @progbits
