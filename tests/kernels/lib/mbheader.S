/*
 * mbheader.S: Multiboot v1 header for ELF kernels (Multiboot Specification 0.6.96, §3.1.1):
 * flags bit 0 (page-align modules) and bit 1 (memory information); the loader takes the load
 * addresses from the ELF program headers.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .note.GNU-stack, "", @progbits
