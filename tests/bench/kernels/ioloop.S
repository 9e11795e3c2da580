/*
 * Exit-cost benchmark kernel (Multiboot v1, 32-bit): prints "START" on COM1,
 * performs N port writes to 0x80 (each one a VM exit handled by the emulator's
 * device model), prints "DONE <tsc cycles>" and exits through isa-debug-exit
 * (port 0xf4) with value 0.  N = 100000.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .section .text
    .globl _start
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

_start:
    mov $stack_top, %esp
    mov $msg_start, %esi
    call puts
    rdtsc
    mov %eax, %edi
    mov %edx, %ebp
    mov $100000, %ecx
1:  outb %al, $0x80
    dec %ecx
    jnz 1b
    rdtsc
    sub %edi, %eax
    sbb %ebp, %edx
    mov %eax, %ebx
    mov $msg_done, %esi
    call puts
    mov %ebx, %eax
    call puthex
    mov $'\n', %al
    call putc
    mov $0xf4, %dx
    xor %eax, %eax
    outl %eax, %dx
2:  hlt
    jmp 2b

/* putc: AL to COM1, waiting for THR empty */
putc:
    push %edx
    push %eax
    mov $0x3fd, %dx
3:  inb %dx, %al
    test $0x20, %al
    jz 3b
    pop %eax
    mov $0x3f8, %dx
    outb %al, %dx
    pop %edx
    ret

puts:
    lodsb
    test %al, %al
    jz 4f
    call putc
    jmp puts
4:  ret

/* puthex: EAX as 8 hex digits */
puthex:
    mov %eax, %edx
    mov $8, %ecx
5:  rol $4, %edx
    mov %edx, %eax
    and $0xf, %eax
    mov hexdigits(%eax), %al
    call putc
    dec %ecx
    jnz 5b
    ret

    .section .data
msg_start: .asciz "START\n"
msg_done:  .asciz "DONE 0x"
hexdigits: .ascii "0123456789abcdef"

    .section .bss
    .align 16
    .space 4096
stack_top:
