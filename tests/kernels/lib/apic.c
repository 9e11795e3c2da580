/*
 * apic.c: local APIC in xAPIC mode (SDM Vol. 3A ch. 10: IA32_APIC_BASE MSR §10.4.4, SVR §10.9,
 * ICR §10.6.1, timer §10.5.4) and the I/O APIC's indirect register window (82093AA datasheet
 * §3.0: IOREGSEL at +0x00, IOWIN at +0x10; redirection table at registers 0x10 + 2 * pin).
 */
#include "libk.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)

uintptr_t lapic_base = 0xfee00000u;

uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(lapic_base + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(lapic_base + reg, v);
}

void lapic_enable(void)
{
    uint64_t msr = rdmsr(MSR_APIC_BASE);
    lapic_base = (uintptr_t)(msr & 0xfffff000u);
    if (!(msr & APIC_BASE_ENABLE)) {
        wrmsr(MSR_APIC_BASE, msr | APIC_BASE_ENABLE);
    }
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    lapic_write(LAPIC_TPR, 0);
}

uint8_t lapic_id(void)
{
    return (uint8_t)(lapic_read(LAPIC_ID) >> 24);
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(uint8_t dest, uint32_t icr_lo)
{
    lapic_write(LAPIC_ICR_HI, (uint32_t)dest << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (int i = 0; i < 100000; i++) {
        if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING)) {
            return true;
        }
        cpu_relax();
    }
    return false;
}

void lapic_timer_start(uint8_t vector, uint32_t initial, uint32_t divide_cfg, bool periodic)
{
    lapic_write(LAPIC_TIMER_DIV, divide_cfg);
    lapic_write(LAPIC_LVT_TIMER, vector | (periodic ? LVT_PERIODIC : 0));
    lapic_write(LAPIC_TIMER_INIT, initial);
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INIT, 0);
}

uint32_t ioapic_read(uintptr_t base, uint8_t reg)
{
    mmio_write32(base, reg);
    return mmio_read32(base + 0x10);
}

void ioapic_write(uintptr_t base, uint8_t reg, uint32_t v)
{
    mmio_write32(base, reg);
    mmio_write32(base + 0x10, v);
}

uint64_t ioapic_get_redir(uintptr_t base, int pin)
{
    uint32_t lo = ioapic_read(base, (uint8_t)(0x10 + 2 * pin));
    uint32_t hi = ioapic_read(base, (uint8_t)(0x11 + 2 * pin));
    return ((uint64_t)hi << 32) | lo;
}

void ioapic_set_redir(uintptr_t base, int pin, uint64_t entry)
{
    /* Mask first so the entry is never live half-written. */
    ioapic_write(base, (uint8_t)(0x10 + 2 * pin), IOREDTBL_MASKED);
    ioapic_write(base, (uint8_t)(0x11 + 2 * pin), (uint32_t)(entry >> 32));
    ioapic_write(base, (uint8_t)(0x10 + 2 * pin), (uint32_t)entry);
}
