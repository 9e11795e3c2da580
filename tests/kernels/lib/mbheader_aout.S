/*
 * mbheader_aout.S: Multiboot v1 header using the "a.out kludge" (Multiboot Specification
 * 0.6.96, §3.1.1 and §3.1.3): flags bit 16 says the address fields below are valid, so the
 * loader places the image by header_addr/load_addr/load_end_addr/bss_end_addr and jumps to
 * entry_addr without looking at any executable format. The kernel is shipped as a flat binary
 * whose first byte is load_addr.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003

    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header         /* header_addr */
    .long _kernel_start     /* load_addr */
    .long _edata            /* load_end_addr */
    .long _end              /* bss_end_addr: the loader zeroes [load_end_addr, bss_end_addr) */
    .long _start            /* entry_addr */

    .section .note.GNU-stack, "", @progbits
