/*
 * A Multiboot v1 "shim" that lets Debian's QEMU (TCG, SeaBIOS) run a Linux kernel exactly as
 * kemu's direct-boot loader prepares it: every blob kemu would place in guest RAM arrives as a
 * Multiboot module whose name ends in "_XXXXXXXX" (its guest address, hex); the shim copies
 * each to its address, then enters the kernel in kemu's 64-bit entry state (boot.h): CR3
 * 0x9000 (kemu's page tables), CR4.PAE, EFER.LME, GDT at 0x500 limit 31, CS 0x10 (long mode),
 * DS/ES/SS/FS/GS 0x18, RSI 0x7000, RSP 0x8ff0, RIP 0x100200, interrupts off.  With "mode32"
 * on the shim's own command line it uses the 32-bit boot protocol state instead: paging off,
 * CS 0x10 (32-bit), ESI 0x7000, EBP = EDI = EBX = 0, EIP 0x100000.
 */
#include <stdbool.h>
#include <stdint.h>

__attribute__((section(".multiboot"), used))
static const uint32_t mb_header[3] = { 0x1BADB002, 0x3, -(0x1BADB002u + 0x3) };

struct mb_module {
    uint32_t start, end, string, reserved;
};

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void serial_puts(const char *s)
{
    while (*s) {
        outb(0x3f8, *s++);
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void shim_main(uint32_t magic, const uint32_t *mbi);

void shim_main(uint32_t magic, const uint32_t *mbi)
{
    if (magic != 0x2BADB002 || !(mbi[0] & (1u << 3))) {
        serial_puts("shim: no multiboot modules\n");
        for (;;) {
        }
    }
    /*
     * QEMU keeps the Multiboot info at 0x9000, where kemu's PML4 goes: read the whole
     * module list (and parse every destination) before copying anything.
     */
    const struct mb_module *mods = (const struct mb_module *)mbi[6];
    uint32_t n = mbi[5], start[32], end[32], dest[32];
    if (n > 32) {
        serial_puts("shim: too many modules\n");
        for (;;) {
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *s = (const char *)mods[i].string, *hex = 0;
        start[i] = mods[i].start;
        end[i] = mods[i].end;
        dest[i] = 0;
        for (const char *p = s; *p && *p != ' '; p++) {
            if (*p == '_') {
                hex = p + 1;
            }
        }
        for (int k = 0; k < 8; k++) {
            int v = hex ? hexval(hex[k]) : -1;
            if (v < 0) {
                serial_puts("shim: bad module name\n");
                for (;;) {
                }
            }
            dest[i] = dest[i] * 16 + v;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *d = (uint8_t *)dest[i];
        const uint8_t *src = (const uint8_t *)start[i];
        for (uint32_t k = 0; k < end[i] - start[i]; k++) {
            d[k] = src[k];
        }
    }
    bool mode32 = false;
    if (mbi[0] & (1u << 2)) {
        for (const char *p = (const char *)mbi[4]; *p; p++) {
            if (p[0] == 'm' && p[1] == 'o' && p[2] == 'd' && p[3] == 'e' && p[4] == '3' &&
                p[5] == '2') {
                mode32 = true;
            }
        }
    }
    if (mode32) {
        serial_puts("shim: blobs copied, entering 32-bit Linux\n");
        __asm__ volatile(
            "cli\n"
            "lgdt shim_gdtr32\n"
            "ljmp $0x10, $1f\n"
            "1: mov $0x18, %%eax\n mov %%eax, %%ds\n mov %%eax, %%es\n mov %%eax, %%ss\n"
            "mov %%eax, %%fs\n mov %%eax, %%gs\n"
            "mov $0x7000, %%esi\n mov $0x8ff0, %%esp\n xor %%ebp, %%ebp\n xor %%edi, %%edi\n"
            "xor %%ebx, %%ebx\n mov $0x100000, %%eax\n jmp *%%eax\n"
            ".pushsection .data\n shim_gdtr32: .word 31\n .long 0x500\n .popsection\n"
            : : : "eax", "memory");
    }
    serial_puts("shim: blobs copied, entering 64-bit Linux\n");
    __asm__ volatile(
        "cli\n"
        "mov $0x20, %%eax\n mov %%eax, %%cr4\n"                 /* PAE */
        "mov $0x9000, %%eax\n mov %%eax, %%cr3\n"
        "mov $0xC0000080, %%ecx\n rdmsr\n or $0x100, %%eax\n wrmsr\n"   /* EFER.LME */
        "lgdt shim_gdtr\n"
        "mov %%cr0, %%eax\n or $0x80000001, %%eax\n and $0x9fffffff, %%eax\n mov %%eax, %%cr0\n"
        "ljmp $0x10, $1f\n"
        ".code64\n"
        "1: mov $0x18, %%eax\n mov %%eax, %%ds\n mov %%eax, %%es\n mov %%eax, %%ss\n"
        "mov %%eax, %%fs\n mov %%eax, %%gs\n"
        "mov $0x7000, %%esi\n mov $0x8ff0, %%esp\n xor %%ebp, %%ebp\n xor %%edi, %%edi\n"
        "xor %%ebx, %%ebx\n mov $0x100200, %%eax\n jmp *%%rax\n"
        ".code32\n"
        ".pushsection .data\n shim_gdtr: .word 31\n .long 0x500\n .popsection\n"
        : : : "eax", "ecx", "edx", "memory");
}

__asm__(".pushsection .text\n"
        ".globl _start\n"
        "_start: mov $shim_stack_top, %esp\n push %ebx\n push %eax\n call shim_main\n"
        "1: hlt\n jmp 1b\n"
        ".popsection\n"
        ".pushsection .bss\n .space 16384\nshim_stack_top:\n .popsection\n");
