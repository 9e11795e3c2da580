/*
 * realmode_asm.S: a round trip from protected mode to real mode and back (SDM Vol. 3A §9.9.2
 * "Switching Back to Real-Address Mode": 16-bit code segment with a 64 KiB limit, 16-bit data
 * segments, clear CR0.PE, far jump to a real-mode segment; §9.9.1 back to protected mode).
 * The real-mode part is copied to RM_BASE and runs at CS = RM_BASE >> 4; it stores its results
 * in the blob for realmode.c to check: segment:offset addressing, INT n through the IVT with
 * IRET, a hardware interrupt (LAPIC timer) through the IVT, flags of 16-bit arithmetic, a
 * 32-bit operand-size prefix, #DE through IVT vector 0 with the faulting IP pushed.
 */
#define RM_BASE 0x7000
#define RM_SEG  (RM_BASE >> 4)
#define OFF(x)  ((x) - rm_blob_start)
#define RM_HW_VECTOR 0x81

    .text
    .code32
    /* void realmode_run(void): runs the copied blob, returns in protected mode with our own
     * GDT loaded (the caller restores the IDT and its GDT). */
    .globl realmode_run
realmode_run:
    pushl %ebx
    pushl %esi
    pushl %edi
    pushl %ebp
    movl %esp, saved_esp
    cli
    lgdt rm_gdt_ptr
    ljmp $0x18, $RM_BASE            /* 16-bit protected mode, base 0 */

rm_return32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl saved_esp, %esp
    popl %ebp
    popl %edi
    popl %esi
    popl %ebx
    ret

    .section .rodata
    .code16
    .globl rm_blob_start, rm_blob_end
    .globl rm_res_seg, rm_res_int, rm_res_int_count, rm_res_flags, rm_res_32, rm_res_de
    .globl rm_res_de_ip, rm_res_de_cs, rm_div_ip, rm_res_hw, rm_do_int
rm_blob_start:
    movw $0x20, %ax                 /* 16-bit data segments, 64 KiB limit */
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl %cr0, %eax
    andl $~1, %eax
    movl %eax, %cr0
    ljmp $RM_SEG, $OFF(rm_real)
rm_real:
    movw %cs, %ax
    movw %ax, %ds
    xorw %ax, %ax
    movw %ax, %ss
    movw %ax, %fs                   /* FS = 0: the IVT */
    movw $RM_BASE - 0x10, %sp
    lidt OFF(rm_idtr)

    /* Segment:offset: write through DS = RM_SEG, read back through ES = 0. */
    movw $0x1234, OFF(rm_scratch)
    xorw %ax, %ax
    movw %ax, %es
    movw %es:RM_BASE + OFF(rm_scratch), %bx
    movw %bx, OFF(rm_res_seg)

    /* INT 0x80 through the IVT (unless realmode.c cleared rm_do_int). */
    movw $OFF(rm_int80), %fs:0x80 * 4
    movw $RM_SEG, %fs:0x80 * 4 + 2
    movw $0x5555, %ax
    cmpb $0, OFF(rm_do_int)
    je 1f
    int $0x80
1:  movw %ax, OFF(rm_res_int)

    /* A hardware interrupt through the IVT: realmode.c left a LAPIC timer interrupt with
     * vector RM_HW_VECTOR pending, so a CPU takes it right after STI's one-instruction
     * shadow; the bounded loop gives slower interrupt injection (KVM without VT-x) time. */
    movw $OFF(rm_hwirq), %fs:RM_HW_VECTOR * 4
    movw $RM_SEG, %fs:RM_HW_VECTOR * 4 + 2
    movl $100000, %ecx
    sti
2:  cmpw $0, OFF(rm_res_hw)
    jne 3f
    loopl 2b
3:  cli

    /* Flags of 0xffff + 1: CF, PF, AF, ZF set; SF, OF clear. */
    movw $0xffff, %ax
    addw $1, %ax
    pushfw
    popw %ax
    movw %ax, OFF(rm_res_flags)

    /* 32-bit operand size in real mode. */
    movl $0x89abcdef, %eax
    rorl $8, %eax
    movl %eax, OFF(rm_res_32)

    /* #DE through IVT vector 0: the handler skips the 2-byte divw. */
    movw $OFF(rm_de), %fs:0
    movw $RM_SEG, %fs:2
    xorw %cx, %cx
    movw $1, %ax
    xorw %dx, %dx
rm_div:
    divw %cx
    movw $OFF(rm_div), OFF(rm_div_ip)

    /* Back to protected mode. */
    cli
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $rm_return32

rm_int80:
    addw $0x1111, %ax
    incw %cs:OFF(rm_res_int_count)
    iret

rm_hwirq:
    incw %cs:OFF(rm_res_hw)
    iret

rm_de:
    pushw %bp
    movw %sp, %bp
    pushw %ax
    movw 2(%bp), %ax                /* IP of the faulting instruction */
    movw %ax, %cs:OFF(rm_res_de_ip)
    movw 4(%bp), %ax
    movw %ax, %cs:OFF(rm_res_de_cs)
    addw $2, 2(%bp)
    incw %cs:OFF(rm_res_de)
    popw %ax
    popw %bp
    iret

    .balign 4
rm_idtr:
    .word 0x3ff
    .long 0
rm_scratch:     .word 0
rm_res_seg:     .word 0
rm_res_int:     .word 0
rm_res_int_count: .word 0
rm_res_flags:   .word 0
rm_res_de:      .word 0
rm_res_de_ip:   .word 0
rm_res_de_cs:   .word 0
rm_div_ip:      .word 0
rm_res_hw:      .word 0
rm_do_int:      .byte 1
    .balign 4
rm_res_32:      .long 0
rm_blob_end:

    .data
    .balign 8
rm_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff        /* 0x10: data, flat */
    .quad 0x00009a000000ffff        /* 0x18: 16-bit code, base 0, limit 0xffff */
    .quad 0x000092000000ffff        /* 0x20: 16-bit data, base 0, limit 0xffff */
rm_gdt_end:
    .balign 4
    .word 0
rm_gdt_ptr:
    .word rm_gdt_end - rm_gdt - 1
    .long rm_gdt
saved_esp:
    .long 0

    .section .note.GNU-stack, "", @progbits
