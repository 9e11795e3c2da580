/*
 * smp.c: application processor start-up with INIT-SIPI-SIPI (SDM Vol. 3A §8.4.4.1 and the
 * MP specification, appendix B.4: INIT, 10 ms, STARTUP, 200 us, STARTUP). The real-mode
 * trampoline (trampoline.S) is copied to TRAMPOLINE_ADDR below 1 MiB; each AP switches to
 * protected mode, reports its APIC ID here and parks (or runs the test's hook).
 */
#include "libk.h"

#define TRAMPOLINE_ADDR 0x8000u

extern char trampoline_start[], trampoline_end[];
void ap_main(uint32_t index);

volatile uint32_t ap_started;
volatile uint8_t ap_apic_ids[MAX_CPUS];
static ap_hook_t ap_hook;

void smp_set_ap_hook(ap_hook_t hook)
{
    ap_hook = hook;
}

void ap_main(uint32_t index)
{
    idt_load();
    lapic_enable();
    ap_apic_ids[index] = lapic_id();
    barrier();
    atomic_inc(&ap_started);
    if (ap_hook) {
        ap_hook((int)index);
    }
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

int smp_start_aps(const uint8_t *ids, int n, uint32_t timeout_us)
{
    /* The page at TRAMPOLINE_ADDR is conventional memory; whatever a loader left there (QEMU
     * puts the multiboot info at 0x9000) is not needed once the test has started APs. */
    uint32_t size = (uint32_t)(trampoline_end - trampoline_start);
    memcpy((void *)TRAMPOLINE_ADDR, trampoline_start, size);
    uint8_t bsp = lapic_id();
    int expected = 0;

    for (int i = 0; i < n; i++) {
        if (ids[i] == bsp) {
            continue;
        }
        expected++;
        if (!lapic_send_ipi(ids[i], ICR_INIT | ICR_LEVEL | ICR_ASSERT)) {
            test_fail(EXIT_FAIL, "INIT IPI to APIC %u never left the ICR", ids[i]);
        }
    }
    delay_us(10000);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            if (ids[i] == bsp) {
                continue;
            }
            if (!lapic_send_ipi(ids[i], ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE_ADDR >> 12))) {
                test_fail(EXIT_FAIL, "STARTUP IPI to APIC %u never left the ICR", ids[i]);
            }
        }
        delay_us(200);
    }
    uint64_t end = time_us() + timeout_us;
    while ((int)ap_started < expected && time_us() < end) {
        cpu_relax();
    }
    /* Let a straggler or a doubly-started AP show up before the caller counts. */
    delay_us(20000);
    return (int)ap_started;
}
