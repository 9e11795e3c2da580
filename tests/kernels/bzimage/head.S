/*
 * head.S: protected-mode entry points of the fake bzImage (Linux boot.rst, "32-bit Boot
 * Protocol" and "64-bit Boot Protocol"): startup_32 at offset 0 of the protected-mode image
 * (flat __BOOT_CS/__BOOT_DS, ESI = boot_params, interrupts off) and startup_64 at offset
 * 0x200 (long mode, identity-mapped, RSI = boot_params). The 64-bit path leaves long mode
 * (SDM Vol. 3A §9.8.5.4: compatibility mode, clear CR0.PG, clear EFER.LME) so both paths run
 * the same 32-bit C code, which is told which entry was used.
 */
    .section .text.head, "ax"
    .code32
    .globl startup_32
startup_32:
    cli
    cld
    lgdt gdt_ptr32
    ljmp $0x08, $1f
1:  movl $32, %ebx
    jmp common32

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    cli
    cld
    movl $boot_stack_top, %esp      /* zero-extends into RSP */
    lgdt gdt_ptr64(%rip)
    pushq $0x08
    movl $compat32, %eax            /* zero-extends into RAX */
    pushq %rax
    lretq                           /* to 32-bit compatibility mode */
    .code32
compat32:
    movl %cr0, %eax
    andl $0x7fffffff, %eax          /* paging off: IA-32e mode becomes inactive */
    movl %eax, %cr0
    movl $0xc0000080, %ecx          /* IA32_EFER */
    rdmsr
    andl $~0x100, %eax              /* LME */
    wrmsr
    movl %cr4, %eax
    andl $~0x20, %eax               /* PAE */
    movl %eax, %cr4
    movl $64, %ebx

    /* ESI = boot_params, EBX = entry path (32 or 64). */
common32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    /* Zero .bss (a loader only copies syssize * 16 bytes), then take its stack. */
    movl $_bss_start, %edi
    movl $_bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl $boot_stack_top, %esp
    pushl %ebx
    pushl %esi
    call bz_main
2:  cli
    hlt
    jmp 2b

    .section .data
    .balign 8
    .globl gdt
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff        /* 0x10: data, flat */
    .quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
gdt_end:
    .balign 4
    .word 0
gdt_ptr32:
    .word gdt_end - gdt - 1
    .long gdt
    .balign 8
    .word 0, 0, 0
gdt_ptr64:
    .word gdt_end - gdt - 1
    .long gdt, 0                    /* 64-bit base */

    .section .bss
    .balign 16
boot_stack:
    .space 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
