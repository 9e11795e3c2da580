/*
 * libk.h: the freestanding runtime shared by the kemu test kernels (32-bit protected mode,
 * flat segments, no paging). Port/MMIO/CPU helpers are inline here; the rest lives in the
 * lib/ C files named next to each group of declarations.
 */
#ifndef LIBK_H
#define LIBK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Exit codes passed to exit() (isa-debug-exit turns code c into VM exit status (c << 1) | 1). */
enum {
    EXIT_PASS = 0,
    EXIT_FAIL = 1,
    EXIT_EXCEPTION = 2,
    EXIT_TIMEOUT = 3,
    EXIT_UNEXPECTED_IRQ = 4,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PACKED __attribute__((packed))
#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* ---- port I/O, MMIO and CPU helpers ------------------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
static inline void cpuid_count(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
                               uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint32_t atomic_inc(volatile uint32_t *p)
{
    uint32_t v = 1;
    __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) :: "memory");
    return v;
}

/* ---- string.c ---------------------------------------------------------------------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- console.c: COM1 16550A output, printf, exit ----------------------------------------- */
/* 64-bit by 32-bit unsigned division (no libgcc): returns n / d, stores n % d. */
uint64_t divmod64(uint64_t n, uint32_t d, uint32_t *rem);
void serial_init(void);
void serial_putc(char c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void puts(const char *s);
NORETURN void exit(int code);

/* ---- test.c: the PASS/FAIL convention ----------------------------------------------------- */
extern const char test_name[];      /* each test defines it with TEST_NAME("...") */
#define TEST_NAME(n) const char test_name[] = n
int main(void);                     /* the test body: returns 0 for pass, else an exit code */
NORETURN void test_pass(void);
NORETURN void test_fail(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Fail the test with a message if cond is false. */
#define CHECK(cond, ...) do { if (!(cond)) test_fail(EXIT_FAIL, __VA_ARGS__); } while (0)

/* ---- multiboot.c: Multiboot v1 information (Multiboot Specification 0.6.96, §3.3) -------- */
#define MB_INFO_MEMORY   (1u << 0)
#define MB_INFO_CMDLINE  (1u << 2)
#define MB_INFO_MODS     (1u << 3)
#define MB_INFO_MMAP     (1u << 6)
struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} PACKED;
struct mb_module { uint32_t mod_start, mod_end, string, reserved; } PACKED;
struct mb_mmap_entry { uint32_t size; uint64_t addr, len; uint32_t type; } PACKED;
extern const struct mb_info *mb_info;   /* NULL if the loader's magic was wrong */
const char *mb_cmdline(void);           /* "" if none */
/* Value of "key=value" in the command line, copied into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size);
long cmdline_int(const char *key, long dflt);
long parse_long(const char *s, bool *ok);

/* ---- desc.c + isr.S: GDT, IDT, exception and interrupt dispatch (SDM Vol. 3A ch. 3, 6) --- */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
struct regs {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, error, eip, cs, eflags;
};
typedef void (*irq_handler_t)(struct regs *r);
void idt_init(void);            /* also used by the APs */
void idt_load(void);
/* Handler for a vector; for an exception vector it replaces the fail-the-test default and may
 * move r->eip past the faulting instruction. */
void irq_set_handler(uint8_t vector, irq_handler_t h);
#define SPURIOUS_VECTOR 0xff

/* ---- time.c: delays and timeouts on the ACPI PM timer (ACPI 6.4 §4.8.3.3) ---------------- */
void time_init(void);           /* finds the PM timer through the FADT; fails the test if none */
uint64_t time_us(void);         /* microseconds since time_init; call at least every ~4 s */
void delay_us(uint32_t us);

/* ---- fwcfg.c: QEMU fw_cfg, I/O port interface (docs/specs/fw_cfg.txt) ------------------- */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID        0x0001
#define FW_CFG_RAM_SIZE  0x0003
#define FW_CFG_NB_CPUS   0x0005
#define FW_CFG_FILE_DIR  0x0019
bool fw_cfg_present(void);
void fw_cfg_read(uint16_t key, void *buf, uint32_t len);
uint64_t fw_cfg_read64(uint16_t key);
uint32_t fw_cfg_read32(uint16_t key);
uint16_t fw_cfg_read16(uint16_t key);
bool fw_cfg_find_file(const char *name, uint16_t *select, uint32_t *size);

/* ---- acpi.c: ACPI table finder (ACPI 6.4 §5.2) ------------------------------------------- */
struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t ext_checksum, reserved[3];
} PACKED;
struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} PACKED;
struct acpi_gas { uint8_t space_id, bit_width, bit_offset, access_size; uint64_t address; } PACKED;
struct acpi_fadt {
    struct acpi_header h;
    uint32_t firmware_ctrl, dsdt;
    uint8_t reserved0, preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
    uint32_t gpe0_blk, gpe1_blk;
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
    uint8_t gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;                 /* offset 112 */
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t fadt_minor_version;
    uint64_t x_firmware_ctrl, x_dsdt;   /* offsets 132, 140 */
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk;
} PACKED;
#define FADT_TMR_VAL_EXT (1u << 8)
bool acpi_checksum_ok(const void *p, uint32_t len);
const struct acpi_rsdp *acpi_find_rsdp(void);      /* scans 0xE0000-0xFFFFF */
/* The n-th table with this signature listed in the XSDT (or RSDT), checksum verified; the
 * DSDT is found through the FADT. NULL if absent; fails the test on a bad checksum. */
const struct acpi_header *acpi_find_table(const char *sig, int n);
const struct acpi_fadt *acpi_fadt(void);

/* MADT walking (ACPI 6.4 §5.2.12) */
struct madt_info {
    uint32_t lapic_addr;
    int ncpus;                      /* enabled Processor Local APIC entries */
    uint8_t apic_ids[64];
    int nioapics;
    uint32_t ioapic_addr, ioapic_gsi_base;
    uint8_t ioapic_id;
    uint32_t irq0_gsi;              /* from an Interrupt Source Override, else 0 */
    uint16_t irq0_flags;
    bool irq0_override;
    uint32_t isa_gsi[16];           /* ISA IRQ -> GSI (identity unless overridden) */
    uint16_t isa_flags[16];         /* MPS INTI flags of the override, else 0 (conforming) */
};
/* The IOAPIC redirection entry for ISA IRQ `irq` -> vector on this CPU, honouring the MADT
 * override's polarity/trigger; returns the pin (or -1 if the GSI is not on the IOAPIC). */
int madt_isa_route(const struct madt_info *mi, int irq, uint8_t vector, uint64_t *entry);
bool madt_parse(struct madt_info *mi);

/* ---- apic.c: local APIC and I/O APIC (SDM Vol. 3A ch. 10; 82093AA IOAPIC datasheet) ----- */
#define LAPIC_ID      0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR     0x080
#define LAPIC_EOI     0x0b0
#define LAPIC_SVR     0x0f0
#define LAPIC_ESR     0x280
#define LAPIC_ICR_LO  0x300
#define LAPIC_ICR_HI  0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0
#define LVT_MASKED    (1u << 16)
#define LVT_PERIODIC  (1u << 17)
#define ICR_INIT      (5u << 8)
#define ICR_STARTUP   (6u << 8)
#define ICR_PENDING   (1u << 12)
#define ICR_ASSERT    (1u << 14)
#define ICR_LEVEL     (1u << 15)
extern uintptr_t lapic_base;
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
void lapic_enable(void);                /* software-enable with SPURIOUS_VECTOR */
uint8_t lapic_id(void);
void lapic_eoi(void);
bool lapic_send_ipi(uint8_t dest, uint32_t icr_lo);   /* false if delivery never completed */
void lapic_timer_start(uint8_t vector, uint32_t initial, uint32_t divide_cfg, bool periodic);
void lapic_timer_stop(void);

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_REG_ID  0x00
#define IOAPIC_REG_VER 0x01
#define IOREDTBL_MASKED  (1u << 16)
#define IOREDTBL_LEVEL   (1u << 15)
#define IOREDTBL_LOW     (1u << 13)
uint32_t ioapic_read(uintptr_t base, uint8_t reg);
void ioapic_write(uintptr_t base, uint8_t reg, uint32_t v);
uint64_t ioapic_get_redir(uintptr_t base, int pin);
void ioapic_set_redir(uintptr_t base, int pin, uint64_t entry);

/* ---- pit.c: 8254 PIT and 8259A PIC ------------------------------------------------------ */
#define PIT_HZ 1193182u
void pit_start_periodic(uint32_t hz);   /* channel 0, mode 2 */
void pit_stop(void);
void pic_disable(void);                 /* remap the 8259s to 0x20/0x28 and mask every line */

/* ---- smp.c + trampoline.S: INIT-SIPI-SIPI bring-up (SDM Vol. 3A §8.4.4, MP spec B.4) ---- */
#define MAX_CPUS 64
extern volatile uint32_t ap_started;                /* APs that reached C code */
extern volatile uint8_t ap_apic_ids[MAX_CPUS];      /* in reporting order */
/* Called on each AP after it reported in (interrupts off, IDT loaded, LAPIC enabled). */
typedef void (*ap_hook_t)(int index);
void smp_set_ap_hook(ap_hook_t hook);
/* Starts every APIC ID in ids[] other than the BSP's; waits up to timeout_us for all to report.
 * Returns the number of APs that reported. */
int smp_start_aps(const uint8_t *ids, int n, uint32_t timeout_us);

#endif
