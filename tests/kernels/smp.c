/*
 * smp.c: brings up every processor the MADT lists (enabled Processor Local APIC entries) with
 * INIT-SIPI-SIPI (lib/smp.c), and checks that the number of CPUs equals fw_cfg NB_CPUS, that
 * each AP reported in exactly once with a distinct APIC ID listed in the MADT, and that a fixed
 * IPI sent to each AP through the ICR is taken by that AP and no other.
 */
#include "lib/libk.h"

TEST_NAME("smp");

#define IPI_VECTOR 0x50

static volatile uint32_t ipi_count[MAX_CPUS];
static volatile uint32_t ap_ready;

static void ipi_handler(struct regs *r)
{
    uint8_t id = lapic_id();
    for (uint32_t i = 0; i < ap_started; i++) {
        if (ap_apic_ids[i] == id) {
            atomic_inc(&ipi_count[i]);
        }
    }
    lapic_eoi();
}

/* Runs on each AP once it reported in: wait for IPIs with interrupts on. */
static void ap_idle(int index)
{
    atomic_inc(&ap_ready);
    for (;;) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
}

int main(void)
{
    struct madt_info mi;
    CHECK(madt_parse(&mi), "no MADT");
    CHECK(fw_cfg_present(), "no fw_cfg signature");
    uint16_t nb_cpus = fw_cfg_read16(FW_CFG_NB_CPUS);
    time_init();
    lapic_enable();
    uint8_t bsp = lapic_id();
    printf("BSP APIC id %u; MADT lists %d enabled CPUs:", bsp, mi.ncpus);
    for (int i = 0; i < mi.ncpus; i++) {
        printf(" %u", mi.apic_ids[i]);
    }
    printf("; fw_cfg NB_CPUS %u\n", nb_cpus);
    CHECK(mi.ncpus == nb_cpus, "MADT lists %d CPUs, fw_cfg NB_CPUS is %u", mi.ncpus, nb_cpus);
    CHECK(mi.ncpus <= MAX_CPUS, "too many CPUs (%d)", mi.ncpus);
    bool bsp_listed = false;
    for (int i = 0; i < mi.ncpus; i++) {
        bsp_listed |= mi.apic_ids[i] == bsp;
    }
    CHECK(bsp_listed, "BSP APIC id %u not in the MADT", bsp);

    irq_set_handler(IPI_VECTOR, ipi_handler);
    smp_set_ap_hook(ap_idle);
    int started = smp_start_aps(mi.apic_ids, mi.ncpus, 10000000);
    printf("%d APs reported:", started);
    for (int i = 0; i < started; i++) {
        printf(" %u", ap_apic_ids[i]);
    }
    printf("\n");
    CHECK(started == mi.ncpus - 1, "%d of %d APs started", started, mi.ncpus - 1);
    for (int i = 0; i < started; i++) {
        uint8_t id = ap_apic_ids[i];
        CHECK(id != bsp, "an AP reported the BSP's APIC id %u", id);
        bool listed = false;
        for (int j = 0; j < mi.ncpus; j++) {
            listed |= mi.apic_ids[j] == id;
        }
        CHECK(listed, "AP reported APIC id %u, not in the MADT", id);
        for (int j = 0; j < i; j++) {
            CHECK(ap_apic_ids[j] != id, "APIC id %u reported twice", id);
        }
    }

    /* A fixed IPI to each AP in turn; only that AP's counter may move. */
    uint64_t deadline = time_us() + 5000000;
    while ((int)ap_ready < started && time_us() < deadline) {
        cpu_relax();
    }
    CHECK((int)ap_ready == started, "only %u of %d APs reached their idle loop", ap_ready, started);
    for (int i = 0; i < started; i++) {
        CHECK(lapic_send_ipi(ap_apic_ids[i], IPI_VECTOR | ICR_ASSERT),
              "IPI to APIC %u never left the ICR", ap_apic_ids[i]);
        deadline = time_us() + 2000000;
        while (ipi_count[i] == 0 && time_us() < deadline) {
            cpu_relax();
        }
        CHECK(ipi_count[i] == 1, "AP %u took %u IPIs, expected 1", ap_apic_ids[i], ipi_count[i]);
        for (int j = 0; j < started; j++) {
            CHECK(j == i || ipi_count[j] == (j < i ? 1u : 0u), "IPI to APIC %u reached APIC %u",
                  ap_apic_ids[i], ap_apic_ids[j]);
        }
        printf("IPI to APIC %u delivered\n", ap_apic_ids[i]);
    }
    printf("%d CPUs up\n", started + 1);
    return 0;
}
