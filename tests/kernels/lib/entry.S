/*
 * entry.S: kernel entry from a Multiboot v1 loader (Multiboot Specification 0.6.96, §3.2:
 * EAX = 0x2BADB002, EBX = multiboot info, flat 32-bit protected mode, paging off), the flat
 * GDT every test kernel runs on, and the boot stack.
 */
    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl $boot_stack_top, %esp
    pushl $0                    /* terminate frame-pointer chains */
    pushl %ebx
    pushl %eax
    call lib_start
1:  cli
    hlt
    jmp 1b

    .text
    /* void gdt_load(void): load our GDT and reload every segment register. */
    .globl gdt_load
gdt_load:
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    ret

    .data
    .balign 8
    .globl gdt
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: code, base 0, limit 4 GiB, 32-bit */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, limit 4 GiB */
gdt_end:
    .balign 4
    .word 0
    .globl gdt_ptr
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .balign 16
boot_stack:
    .space 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
