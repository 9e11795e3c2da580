/*
 * paging.c: 32-bit paging, or PAE paging with "pae=1" (SDM Vol. 3A §4.3, §4.4, §4.7, §4.8), with
 * 4 KiB pages: identity map the
 * first 8 MiB, alias a virtual page onto a buffer (writes through one address are seen through
 * the other), the accessed and dirty bits get set, #PF reports CR2 and the error code for a
 * not-present read (0), a not-present write (2) and, with CR0.WP, a write to a read-only page
 * (3); with CR0.WP clear the same write succeeds; INVLPG makes a remapping visible.
 */
#include "lib/libk.h"

TEST_NAME("paging");

#define PTE_P  (1u << 0)
#define PTE_W  (1u << 1)
#define PTE_A  (1u << 5)
#define PTE_D  (1u << 6)
#define CR0_PG (1u << 31)
#define CR0_WP (1u << 16)

#define ALIAS_VA  0x40000000u       /* -> buf_a or buf_b */
#define ROPAGE_VA 0x40001000u       /* -> buf_a, read-only */
#define HOLE_VA   0x40002000u       /* not present */

/* Legacy 32-bit paging: one directory, two tables for 0-8 MiB, one for the alias region. */
static uint32_t pgdir[1024] __attribute__((aligned(4096)));
static uint32_t pt32_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt32_alias[1024] __attribute__((aligned(4096)));
/* PAE paging: four PDPTEs, directories for 0-1 GiB and 1-2 GiB, four tables for 0-8 MiB. */
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt64_low[4][512] __attribute__((aligned(4096)));
static uint64_t pt64_alias[512] __attribute__((aligned(4096)));
static bool pae;

/* The alias region's PTEs, whichever format; the CPU writes A/D bits behind the compiler's
 * back, so every access is volatile. */
static uint32_t alias_pte(int i)
{
    return pae ? (uint32_t)((volatile uint64_t *)pt64_alias)[i]
               : ((volatile uint32_t *)pt32_alias)[i];
}

static void set_alias_pte(int i, uint32_t v)
{
    if (pae) {
        ((volatile uint64_t *)pt64_alias)[i] = v;
    } else {
        ((volatile uint32_t *)pt32_alias)[i] = v;
    }
}

/* Returns the CR3 value. */
static uint32_t build_tables(void)
{
    if (!pae) {
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < 1024; i++) {
                pt32_low[t][i] = ((uint32_t)(t * 1024 + i) << 12) | PTE_P | PTE_W;
            }
            pgdir[t] = (uint32_t)(uintptr_t)pt32_low[t] | PTE_P | PTE_W;
        }
        pgdir[ALIAS_VA >> 22] = (uint32_t)(uintptr_t)pt32_alias | PTE_P | PTE_W;
        return (uint32_t)(uintptr_t)pgdir;
    }
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 512; i++) {
            pt64_low[t][i] = ((uint32_t)(t * 512 + i) << 12) | PTE_P | PTE_W;
        }
        pd[0][t] = (uint32_t)(uintptr_t)pt64_low[t] | PTE_P | PTE_W;
    }
    pd[ALIAS_VA >> 30][(ALIAS_VA >> 21) & 511] = (uint32_t)(uintptr_t)pt64_alias | PTE_P | PTE_W;
    for (int i = 0; i < 4; i++) {
        pdpt[i] = (uint32_t)(uintptr_t)pd[i] | PTE_P;       /* PDPTEs have no R/W bit */
    }
    return (uint32_t)(uintptr_t)pdpt;
}

static uint8_t buf_a[4096] __attribute__((aligned(4096)));
static uint8_t buf_b[4096] __attribute__((aligned(4096)));

static volatile uint32_t pf_count, pf_error, pf_cr2;
static uint32_t resume_eip;

static uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void write_cr0(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory");
}

static void pf_handler(struct regs *r)
{
    uint32_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    pf_cr2 = cr2;
    pf_error = r->error;
    pf_count++;
    r->eip = resume_eip;
}

/* Read or write *va, expecting a #PF that skips the access. */
static __attribute__((noinline)) void fault_read(uint32_t va)
{
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl (%1), %%eax\n\t"
                     "1:"
                     : "=m"(resume_eip) : "r"(va) : "eax", "memory");
}

static __attribute__((noinline)) void fault_write(uint32_t va)
{
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl $0x12345678, (%1)\n\t"
                     "1:"
                     : "=m"(resume_eip) : "r"(va) : "memory");
}

static void expect_pf(const char *what, bool write, uint32_t va, uint32_t error)
{
    pf_count = 0;
    if (write) {
        fault_write(va);
    } else {
        fault_read(va);
    }
    printf("%s: %u fault(s), CR2 0x%08x error 0x%x\n", what, pf_count, pf_cr2, pf_error);
    CHECK(pf_count == 1, "%s: %u page faults, expected 1", what, pf_count);
    CHECK(pf_cr2 == va, "%s: CR2 0x%x, expected 0x%x", what, pf_cr2, va);
    CHECK(pf_error == error, "%s: error code 0x%x, expected 0x%x", what, pf_error, error);
}

int main(void)
{
    extern char _end[];
    CHECK((uintptr_t)_end <= (8u << 20), "kernel ends above the 8 MiB identity map");
    pae = cmdline_int("pae", 0) != 0;
    uint32_t cr3 = build_tables();
    set_alias_pte(0, (uint32_t)(uintptr_t)buf_a | PTE_P | PTE_W);
    set_alias_pte(1, (uint32_t)(uintptr_t)buf_a | PTE_P);          /* read-only */

    irq_set_handler(14, pf_handler);
    if (pae) {
        uint32_t cr4;
        __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
        __asm__ volatile("mov %0, %%cr4" :: "r"(cr4 | 0x20) : "memory");   /* CR4.PAE */
    }
    __asm__ volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
    write_cr0(read_cr0() | CR0_PG);
    write_cr0(read_cr0() | CR0_WP);
    printf("%s paging on: CR0 0x%08x CR3 0x%08x\n", pae ? "PAE" : "32-bit", read_cr0(), cr3);

    /* Alias: write through the virtual page, read through the identity map and back. */
    volatile uint32_t *alias = (volatile uint32_t *)ALIAS_VA;
    alias[3] = 0xcafef00d;
    CHECK(((volatile uint32_t *)buf_a)[3] == 0xcafef00d, "write through the alias not in buf_a");
    ((volatile uint32_t *)buf_a)[4] = 0x600df00d;
    CHECK(alias[4] == 0x600df00d, "write to buf_a not seen through the alias");
    CHECK((alias_pte(0) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "PTE 0x%x: A/D not set",
          alias_pte(0));
    (void)((volatile uint32_t *)ROPAGE_VA)[0];
    CHECK((alias_pte(1) & (PTE_A | PTE_D)) == PTE_A, "read-only PTE 0x%x: expected A only",
          alias_pte(1));
    printf("alias ok, PTEs 0x%08x 0x%08x\n", alias_pte(0), alias_pte(1));

    expect_pf("read of a not-present page", false, HOLE_VA, 0);
    expect_pf("write to a not-present page", true, HOLE_VA + 8, 2);
    expect_pf("write to a read-only page (WP=1)", true, ROPAGE_VA + 16, 3);
    write_cr0(read_cr0() & ~CR0_WP);
    ((volatile uint32_t *)ROPAGE_VA)[5] = 0xabcd1234;
    CHECK(((volatile uint32_t *)buf_a)[5] == 0xabcd1234, "WP=0 write to a read-only page lost");
    write_cr0(read_cr0() | CR0_WP);
    printf("WP=0 write to the read-only page ok\n");

    /* Remap the alias to buf_b: INVLPG must drop the stale translation. */
    ((volatile uint32_t *)buf_b)[3] = 0x0b0b0b0b;
    CHECK(alias[3] == 0xcafef00d, "alias lost its mapping");
    set_alias_pte(0, (uint32_t)(uintptr_t)buf_b | PTE_P | PTE_W);
    __asm__ volatile("invlpg (%0)" :: "r"(ALIAS_VA) : "memory");
    CHECK(alias[3] == 0x0b0b0b0b, "after INVLPG the alias still reads 0x%x", alias[3]);
    printf("remap + invlpg ok\n");

    write_cr0(read_cr0() & ~(CR0_PG | CR0_WP));
    if (pae) {
        uint32_t cr4;
        __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
        __asm__ volatile("mov %0, %%cr4" :: "r"(cr4 & ~0x20u) : "memory");
    }
    irq_set_handler(14, NULL);
    return 0;
}
