/*
 * The `pc` machine: i440FX + PIIX3/PIIX4, as QEMU's "Standard PC (i440FX +
 * PIIX, 1996)".  RAM is split around the PCI hole (below 4 GiB up to the
 * lowmem limit, the rest above 4 GiB), legacy ISA devices sit on the PIIX3's
 * ISA bus, ISA IRQ n is GSI n of the interrupt controller, and -kernel images
 * are loaded directly (Linux boot protocol or Multiboot) without firmware.
 */
#include <glib.h>
#include <string.h>

#include "hw/acpi/acpi-pm.h"
#include "hw/boards.h"
#include "hw/i386/acpi.h"
#include "hw/i386/boot.h"
#include "hw/i386/cpu.h"
#include "hw/i386/e820.h"
#include "hw/i386/fw_cfg.h"
#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/isa.h"
#include "hw/loader.h"
#include "hw/pci/i440fx.h"
#include "hw/qdev.h"
#include "hw/timer/i8254.h"
#include "hw/timer/mc146818rtc.h"
#include "system/accel.h"

typedef struct PCBoard {
    MemoryRegion ram_below_4g, ram_above_4g;
    MemoryRegion isa_hole;
    uint64_t below_4g, above_4g;
    E820Table e820;
    PCIBus *pci;
    PCIDevice *pm;
    Irq **gsi;
    DeviceState *rtc;
    FWCfgState *fw_cfg;
    AcpiPMState *acpi_pm;
    AcpiTables acpi;
    X86BootEntry boot_entry;
    bool have_boot_entry;
    /* Userspace interrupt controllers (kernel-irqchip=off, qtest) */
    bool userspace_irqchip;
    bool split_irqchip;     /* LAPICs in the accelerator, PIC and IOAPIC here */
    PICState *pic;
    IOAPICState *ioapic;
    PITState *pit;
    uint8_t pirq_irqs[4];   /* what the DSDT's PCI interrupt links say */
} PCBoard;

static PCBoard *pc_board;

/* ISA IRQ n: PIC pin n and IOAPIC pin n, except IRQ0 on IOAPIC pin 2 (the MADT's
 * interrupt source override).  In-kernel irqchip: the accelerator does this routing. */
static void pc_gsi_handler(void *opaque, int n, int level)
{
    PCBoard *pc = opaque;
    const AccelClass *ac = current_accel();
    if (!pc->userspace_irqchip) {
        if (ac && ac->set_irq) {
            ac->set_irq(n, level);
        }
        return;
    }
    if (ac && ac->set_irq && !ac->lapic_in_kernel) {
        ac->set_irq(n, level); /* qtest: irq_intercept_in reports the GSI */
    }
    irq_set(i8259_get_irq(pc->pic, n), level);
    irq_set(ioapic_get_irq(pc->ioapic, n == 0 ? 2 : n), level);
}

static void pc_ioapic_deliver(void *opaque, uint64_t addr, uint32_t data)
{
    PCBoard *pc = opaque;
    if (pc->split_irqchip) {
        current_accel()->send_msi(addr, data);
    } else {
        apic_deliver_msi(addr, data);
    }
}

/* Split irqchip: the 8259's INTR reaches the boot CPU's in-kernel LAPIC as ExtINT, which the
 * accelerator injects with the vector from the INTA cycle. */
static int pc_split_get_interrupt(X86CPU *cpu)
{
    return pc_board->pic && pic_get_output(pc_board->pic) ? pic_read_irq(pc_board->pic) : -1;
}

static bool pc_split_has_interrupt(X86CPU *cpu)
{
    return pc_board->pic && pic_get_output(pc_board->pic);
}

static const X86CPUIrqOps pc_split_irq_ops = {
    .get_interrupt = pc_split_get_interrupt,
    .has_interrupt = pc_split_has_interrupt,
};

static void pc_pic_intr(void *opaque, int n, int level)
{
    MachineState *ms = opaque;
    if (pc_board->split_irqchip) {
        if (level) {
            x86_cpu_interrupt(ms->cpus[0], CPU_INTERRUPT_HARD, 0);
        }
        return;
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        if (ms->cpus[i]->apic) {
            apic_deliver_pic_intr(ms->cpus[i]->apic, level);
        }
    }
}

static int pc_pic_read_irq(void *opaque)
{
    return pic_read_irq(opaque);
}

static void pc_ioapic_eoi(void *opaque, int vector)
{
    ioapic_eoi_broadcast(opaque, vector);
}

/* PIC, IOAPIC, LAPICs and PIT in userspace. */
static bool pc_userspace_irqchip_init(MachineState *ms, PCBoard *pc, Error **errp)
{
    static APICBoardOps apic_ops;
    pc->pic = i8259_init(irq_new(pc_pic_intr, ms, 0), errp);
    if (!pc->pic) {
        return false;
    }
    pc->ioapic = ioapic_init(pc_ioapic_deliver, pc, errp);
    if (!pc->ioapic) {
        return false;
    }
    apic_ops = (APICBoardOps){
        .cpu_interrupt = x86_cpu_interrupt,
        .pic_read_irq = pc_pic_read_irq,
        .eoi_broadcast = pc_ioapic_eoi,
        .pic_opaque = pc->pic,
        .ioapic_opaque = pc->ioapic,
    };
    if (pc->split_irqchip) {
        accel_set_ioapic_eoi_handler(pc_ioapic_eoi, pc->ioapic);
        ms->cpus[0]->irq_ops = &pc_split_irq_ops;
        pc->pit = pit_init(0x40, pc->gsi[0], errp);
        return pc->pit && pcspk_init(pc->pit, errp);
    }
    apic_set_board_ops(&apic_ops);
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        if (!apic_create(ms->cpus[i], ms->cpus[i]->apic_id, errp)) {
            return false;
        }
        ms->cpus[i]->irq_ops = &apic_cpu_irq_ops;
    }
    pc->pit = pit_init(0x40, pc->gsi[0], errp);
    return pc->pit && pcspk_init(pc->pit, errp);
}

static uint64_t isa_hole_read(void *opaque, hwaddr addr, unsigned size)
{
    return ~0ull; /* legacy VGA window with no VGA: open bus */
}

static void isa_hole_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
}

static const MemoryRegionOps isa_hole_ops = {
    .read = isa_hole_read,
    .write = isa_hole_write,
    .valid_min = 1,
    .valid_max = 8,
};

static void pc_apm_command(void *opaque, uint8_t val)
{
    PCBoard *pc = opaque;
    acpi_pm_apm_command(pc->acpi_pm, val);
}

static void pc_powerdown(MachineState *ms)
{
    PCBoard *pc = ms->board;
    acpi_pm_power_button(pc->acpi_pm);
}

static uint32_t pc_apic_id(const CpuTopology *t, unsigned index)
{
    unsigned tbits = 0, cbits = 0;
    while ((1u << tbits) < t->threads) {
        tbits++;
    }
    while ((1u << cbits) < t->cores) {
        cbits++;
    }
    unsigned thread = index % t->threads;
    unsigned core = (index / t->threads) % t->cores;
    unsigned socket = index / (t->threads * t->cores);
    return (socket << (cbits + tbits)) | (core << tbits) | thread;
}

static DeviceState *pc_isa_create(const char *type, Error **errp)
{
    DeviceState *dev = qdev_new(type, errp);
    if (dev && !qdev_realize(dev, isa_bus_get(), errp)) {
        return NULL;
    }
    return dev;
}

static bool pc_init(MachineState *ms, Error **errp)
{
    PCBoard *pc = g_new0(PCBoard, 1);
    ms->board = pc;

    pc_board = pc;
    pc->userspace_irqchip = ms->irqchip != IRQCHIP_ON ||
                            !(ms->accel->irqchip_in_kernel && ms->accel->irqchip_in_kernel());
    pc->split_irqchip = pc->userspace_irqchip && ms->accel->lapic_in_kernel &&
                        ms->accel->lapic_in_kernel();

    /* RAM */
    pc_ram_layout(ms->ram_size, &pc->below_4g, &pc->above_4g);
    if (!memory_region_init_ram(&ms->ram, "pc.ram", ms->ram_size, errp)) {
        return false;
    }
    memory_region_transaction_begin();
    memory_region_init_alias(&pc->ram_below_4g, "ram-below-4g", &ms->ram, 0, pc->below_4g);
    memory_region_add_subregion(get_system_memory(), 0, &pc->ram_below_4g);
    if (pc->above_4g) {
        memory_region_init_alias(&pc->ram_above_4g, "ram-above-4g", &ms->ram, pc->below_4g,
                                 pc->above_4g);
        memory_region_add_subregion(get_system_memory(), 0x100000000ull, &pc->ram_above_4g);
    }
    memory_region_init_io(&pc->isa_hole, &isa_hole_ops, pc, "vga-lowmem", 0x20000);
    memory_region_add_subregion_overlap(get_system_memory(), 0xa0000, &pc->isa_hole, 1);
    memory_region_transaction_commit();

    e820_build_pc(&pc->e820, pc->below_4g, pc->above_4g, true, true);

    /* vCPUs */
    ms->cpus = g_new0(X86CPU *, ms->smp.cpus);
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        X86CPU *cpu = g_new0(X86CPU, 1);
        cpu->index = i;
        cpu->apic_id = pc_apic_id(&ms->smp, i);
        cpu->is_bsp = i == 0;
        cpu->machine = ms;
        ms->cpus[i] = cpu;
        if (ms->accel->init_vcpu && !ms->accel->init_vcpu(cpu, errp)) {
            return false;
        }
    }

    /* Chipset and legacy devices */
    pc->gsi = irq_allocate(pc_gsi_handler, pc, ISA_NUM_IRQS);
    isa_bus_init(pc->gsi);
    if (pc->userspace_irqchip && !pc_userspace_irqchip_init(ms, pc, errp)) {
        return false;
    }
    pc->pci = i440fx_init(errp);
    if (!pc->pci) {
        return false;
    }
    DeviceState *piix3 = qdev_new("PIIX3", errp);
    if (!piix3) {
        return false;
    }
    ((PCIDevice *)piix3)->devfn = PCI_DEVFN(1, 0);
    ((PCIDevice *)piix3)->multifunction = true;
    if (!qdev_realize(piix3, &pc->pci->qbus, errp)) {
        return false;
    }
    pc->pm = pci_create_simple(pc->pci, PCI_DEVFN(1, 3), "PIIX4_PM", errp);
    if (!pc->pm) {
        return false;
    }

    /* ACPI PM block behind the PIIX4 PM function: PMBA preset to 0x600 as SeaBIOS does,
     * GPE0 at 0xafe0, SCI on ISA IRQ 9 (the FADT built in pc_done says the same). */
    pc->acpi_pm = acpi_pm_init(get_system_io(), 0, 0xafe0, isa_get_irq(9));
    piix4_pm_set_io(pc->pm, acpi_pm_io_region(pc->acpi_pm), 0x600);
    piix4_pm_set_apm_callback(pc->pm, pc_apm_command, pc);

    pc->rtc = qdev_new("mc146818rtc", errp);
    if (!pc->rtc || !qdev_prop_set(pc->rtc, "base_year", "2000", errp) ||
        !qdev_realize(pc->rtc, isa_bus_get(), errp)) {
        return false;
    }
    rtc_set_pc_memory(pc->rtc, pc->below_4g, pc->above_4g, ms->smp.cpus);
    rtc_set_pc_misc(pc->rtc, "cad");
    if (!pc_isa_create("port92", errp) || !pc_isa_create("ioport80", errp) ||
        !pc_isa_create("isa-boot-timer", errp) || !pc_isa_create("i8042", errp)) {
        return false;
    }

    /* fw_cfg: what firmware and test kernels read about the machine. */
    pc->fw_cfg = fw_cfg_init_io(FW_CFG_IO_BASE);
    if (!pc->fw_cfg) {
        error_setg(errp, "cannot create fw_cfg");
        return false;
    }
    fw_cfg_add_i64(pc->fw_cfg, FW_CFG_RAM_SIZE, ms->ram_size);
    fw_cfg_add_i16(pc->fw_cfg, FW_CFG_NB_CPUS, ms->smp.cpus);
    fw_cfg_add_i16(pc->fw_cfg, FW_CFG_MAX_CPUS, ms->smp.maxcpus);
    fw_cfg_add_i16(pc->fw_cfg, FW_CFG_NOGRAPHIC, 1);
    if (ms->has_uuid) {
        fw_cfg_add_bytes(pc->fw_cfg, FW_CFG_UUID, ms->uuid, 16);
    }
    size_t e820_len;
    uint8_t *e820_blob = e820_fw_cfg_blob(&pc->e820, &e820_len);
    fw_cfg_add_file(pc->fw_cfg, "etc/e820", e820_blob, e820_len);
    g_free(e820_blob);

    return true;
}

static bool pc_done(MachineState *ms, Error **errp)
{
    PCBoard *pc = ms->board;

    /* Boot */
    hwaddr rsdp = 0;
    if (ms->acpi) {
        AcpiConfig cfg;
        uint32_t *apic_ids = g_new(uint32_t, ms->smp.cpus);
        for (unsigned i = 0; i < ms->smp.cpus; i++) {
            apic_ids[i] = ms->cpus[i]->apic_id;
        }
        acpi_config_init_pc(&cfg, ms->smp.cpus, pc->below_4g, pc->above_4g);
        cfg.apic_ids = apic_ids;
        cfg.hpet = false; /* no HPET device yet: do not advertise one */
        bool ok = acpi_build_tables(&cfg, &pc->acpi, errp);
        g_free(apic_ids);
        if (!ok) {
            return false;
        }
        /* Blobs at 0xe0000 (tables) and 0xf0000 (RSDP); the tables area becomes ACPI
         * memory in the e820 map before the loader copies the map to the guest. */
        acpi_tables_install(&pc->acpi, cfg.tables_max, &pc->e820);
        memcpy(pc->pirq_irqs, cfg.pirq_irqs, sizeof(pc->pirq_irqs));
        rsdp = pc->acpi.rsdp_addr;
    }
    if (!ms->kernel_filename) {
        return true; /* no guest code (qtest); main refuses this for real accelerators */
    }
    if (!x86_load_kernel_full(ms, &pc->e820, rsdp, false, &pc->boot_entry, errp)) {
        return false;
    }
    pc->have_boot_entry = true;
    return true;
}

/* What SeaBIOS would program before handing over, since kemu boots without it: PCI
 * interrupt links PIRQA..D routed to the IRQs the DSDT promises, and those IRQs (plus the
 * SCI, IRQ 9) level-triggered in the PIC's ELCR. */
static void pc_firmware_presets(MachineState *ms, PCBoard *pc)
{
    uint8_t elcr1 = 1u << (9 - 8);
    for (int i = 0; i < 4; i++) {
        if (!pc->pirq_irqs[i]) {
            continue;
        }
        pci_config_write(pc->pci, (PCI_DEVFN(1, 0) << 8) | (0x60 + i), pc->pirq_irqs[i], 1);
        if (pc->pirq_irqs[i] >= 8) {
            elcr1 |= 1u << (pc->pirq_irqs[i] - 8);
        }
    }
    if (pc->userspace_irqchip) {
        address_space_write(&address_space_io, 0x4d1, &elcr1, 1);
    }
}

static void pc_reset(MachineState *ms)
{
    PCBoard *pc = ms->board;
    qdev_reset_all();
    acpi_pm_reset(pc->acpi_pm);
    rom_reset_all();
    if (pc->have_boot_entry) {
        pc_firmware_presets(ms, pc); /* only when kemu plays the firmware's part */
    }
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        X86CPU *cpu = ms->cpus[i];
        x86_cpu_reset_state(cpu);
        if (cpu->is_bsp && pc->have_boot_entry) {
            x86_boot_set_cpu_state(&pc->boot_entry, &cpu->env);
        }
    }
}

static const MachineClass pc_machine = {
    .name = "pc-i440fx-7.2",
    .alias = "pc",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .is_default = true,
    .max_cpus = 255,
    .default_ram_size = 128ull << 20,
    .init = pc_init,
    .done = pc_done,
    .reset = pc_reset,
    .powerdown = pc_powerdown,
};
MACHINE_REGISTER(pc_machine)
