/*
 * header.S: real-mode part of the fake bzImage (Linux Documentation/arch/x86/boot.rst, "The
 * Real-Mode Kernel Header", protocol 2.15): the boot sector area with the setup header at
 * 0x1f1, and a small real-mode setup routine for loaders that start the kernel the classic
 * way (jump to setup segment + 0x20:0, as QEMU's linuxboot option ROM does). That routine does
 * what Linux's setup does for this purpose: builds a zero page (boot_params) with a copy of the
 * setup header and the BIOS E820 map (INT 15h, AX=E820h), enters protected mode with
 * __BOOT_CS = 0x10 / __BOOT_DS = 0x18 flat segments and jumps to code32_start with ESI
 * pointing at boot_params. Loaders using the 32/64-bit boot protocol never run it.
 */
#define SETUP_SECTS 4
#define BP_OFF 0x1000               /* boot_params, relative to the setup segment */
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define E820_MAX 128
#define SMAP 0x534d4150

    .section .setup, "ax"
    .code16
    .globl _setup_start
_setup_start:
    .org 0x1f1
    .byte SETUP_SECTS               /* setup_sects */
    .org 0x1f2
    .word 0                         /* root_flags */
    .org 0x1f4
    .long _syssize                  /* syssize: protected-mode part in 16-byte units */
    .org 0x1f8
    .word 0                         /* ram_size (obsolete) */
    .org 0x1fa
    .word 0xffff                    /* vid_mode: normal */
    .org 0x1fc
    .word 0                         /* root_dev */
    .org 0x1fe
    .word 0xaa55                    /* boot_flag */
    .org 0x200
    .byte 0xeb, setup_code - 1f     /* jump: short jump over the header */
1:
    .org 0x202
    .ascii "HdrS"                   /* header */
    .org 0x206
    .word 0x020f                    /* version 2.15 */
    .org 0x208
    .long 0                         /* realmode_swtch */
    .org 0x20c
    .word 0x1000                    /* start_sys_seg (obsolete) */
    .org 0x20e
    .word kernel_version - 0x200    /* kernel_version */
    .org 0x210
    .byte 0                         /* type_of_loader: filled by the loader */
    .org 0x211
    .byte 0x01                      /* loadflags: LOADED_HIGH */
    .org 0x212
    .word 0x8000                    /* setup_move_size */
    .org 0x214
    .long 0x100000                  /* code32_start */
    .org 0x218
    .long 0                         /* ramdisk_image */
    .org 0x21c
    .long 0                         /* ramdisk_size */
    .org 0x220
    .long 0                         /* bootsect_kludge */
    .org 0x224
    .word 0                         /* heap_end_ptr */
    .org 0x226
    .byte 0                         /* ext_loader_ver */
    .org 0x227
    .byte 0                         /* ext_loader_type */
    .org 0x228
    .long 0                         /* cmd_line_ptr */
    .org 0x22c
    .long 0x7fffffff                /* initrd_addr_max */
    .org 0x230
    .long 0x200000                  /* kernel_alignment */
    .org 0x234
    .byte 0                         /* relocatable_kernel: no, load at pref_address */
    .org 0x235
    .byte 12                        /* min_alignment: 4 KiB (log2) */
    .org 0x236
    .word 0x0003                    /* xloadflags: XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
    .org 0x238
    .long 2047                      /* cmdline_size */
    .org 0x23c
    .long 0                         /* hardware_subarch: default x86 */
    .org 0x240
    .quad 0                         /* hardware_subarch_data */
    .org 0x248
    .long 0                         /* payload_offset: no compressed payload */
    .org 0x24c
    .long 0                         /* payload_length */
    .org 0x250
    .quad 0                         /* setup_data */
    .org 0x258
    .quad 0x100000                  /* pref_address */
    .org 0x260
    .long _init_size                /* init_size: image plus bss and stack */
    .org 0x264
    .long 0                         /* handover_offset: no EFI handover */
    .org 0x268
    .long 0                         /* kernel_info_offset */
    .org 0x26c

    /* Must stay within a short jump (127 bytes) of 0x202. */
    /* Entered at setup segment + 0x20 : 0, i.e. CS base = setup base + 0x200. */
setup_code:
    cli
    cld
    movw %cs, %ax
    subw $0x20, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs                   /* keeps the real-mode base for the final far jump */
    movw %ax, %ss
    movw $0xf000, %sp

    /* boot_params: zeroed, then the setup header as the loader left it. */
    movw $BP_OFF, %di
    xorl %eax, %eax
    movw $1024, %cx
    rep stosl
    movw $0x1f1, %si
    movw $BP_OFF + 0x1f1, %di
    movw $0x290 - 0x1f1, %cx
    rep movsb

    /* E820 map from the BIOS. */
    xorl %ebx, %ebx
    xorw %bp, %bp
    movw $BP_OFF + BP_E820_TABLE, %di
2:  movl $0xe820, %eax
    movl $SMAP, %edx
    movl $20, %ecx
    int $0x15
    jc 3f
    cmpl $SMAP, %eax
    jne 3f
    incw %bp
    addw $20, %di
    cmpw $E820_MAX, %bp
    jae 3f
    testl %ebx, %ebx
    jnz 2b
3:  movw %bp, %ax
    movb %al, BP_OFF + BP_E820_ENTRIES

    /* Mask the PICs, as Linux's setup does before entering protected mode. */
    movb $0xff, %al
    outb %al, $0xa1
    outb %al, $0x21

    /* Linear addresses: GDT base, boot_params, the far-jump target. */
    xorl %ebx, %ebx
    movw %ds, %bx
    shll $4, %ebx
    leal gdt(%ebx), %eax
    movl %eax, gdt_ptr + 2
    lgdtl gdt_ptr
    leal BP_OFF(%ebx), %esi
    movl 0x214, %eax                /* code32_start, possibly changed by the loader */
    movl %eax, jump_target

    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ljmpl *%fs:jump_target

    .balign 4
jump_target:
    .long 0
    .word 0x10
    .balign 8
gdt:
    .quad 0
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x10 __BOOT_CS: 32-bit code, flat */
    .quad 0x00cf92000000ffff        /* 0x18 __BOOT_DS: data, flat */
gdt_end:
    .word 0
gdt_ptr:
    .word gdt_end - gdt - 1
    .long 0

kernel_version:
    .asciz "0.0.0-kemu-fake (kemu test bzImage)"

    .section .note.GNU-stack, "", @progbits
