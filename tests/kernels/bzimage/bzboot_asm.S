/*
 * bzboot_asm.S: the last step of bzboot (a minimal Linux boot-protocol loader used to exercise
 * the fake bzImage's entry points, Linux Documentation/arch/x86/boot.rst "32-bit Boot
 * Protocol" and "64-bit Boot Protocol"). GDT: 0x10 __BOOT_CS, 0x18 __BOOT_DS, as the protocol
 * names them; 0x20 is a 32-bit code segment used while switching to long mode (SDM Vol. 3A
 * §9.8.5: PAE, CR3, EFER.LME, then CR0.PG).
 */
    .text
    .code32

    /* void bzboot_enter32(uint32_t entry, uint32_t boot_params) */
    .globl bzboot_enter32
bzboot_enter32:
    cli
    movl 4(%esp), %edi
    movl 8(%esp), %esi
    lgdt gdt32_ptr
    ljmp $0x10, $1f
1:  movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    jmp *%edi

    /* void bzboot_enter64(uint32_t entry64, uint32_t boot_params, uint32_t cr3) */
    .globl bzboot_enter64
bzboot_enter64:
    cli
    movl 4(%esp), %edi
    movl 8(%esp), %esi
    movl 12(%esp), %ebx
    lgdt gdt64_ptr
    ljmp $0x20, $1f
1:  movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl %ebx, %cr3
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $0xc0000080, %ecx          /* IA32_EFER */
    rdmsr
    orl $0x100, %eax                /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000000, %eax           /* PG: IA-32e mode active */
    movl %eax, %cr0
    ljmp $0x10, $2f
    .code64
2:  movl %esi, %esi                 /* upper halves are undefined after the switch */
    movl %edi, %edi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    jmp *%rdi
    .code32

    .data
    .balign 8
gdt32:
    .quad 0
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x10 __BOOT_CS: 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x18 __BOOT_DS */
gdt32_end:
gdt64:
    .quad 0
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x10 __BOOT_CS: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x18 __BOOT_DS */
    .quad 0x00cf9a000000ffff        /* 0x20: 32-bit code for the switch */
gdt64_end:
    .balign 4
    .word 0
gdt32_ptr:
    .word gdt32_end - gdt32 - 1
    .long gdt32
    .word 0
gdt64_ptr:
    .word gdt64_end - gdt64 - 1
    .long gdt64

    .section .note.GNU-stack, "", @progbits
