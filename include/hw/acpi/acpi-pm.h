/*
 * ACPI fixed-hardware PM registers of the PIIX4 power-management function
 * (hw/acpi/acpi-pm.c): PM1a event block (PM1_STS, PM1_EN), PM1a control block
 * (PM1_CNT), the 24-bit PM timer, and a GPE0 block, raising SCI.
 *
 * Layout, as QEMU's pc machine and hw/i386/acpi-build.c's FADT: PM1a_EVT at base,
 * PM1a_CNT at base+4, PM_TMR at base+8 (base = PMBA, 0x600 as SeaBIOS programs it),
 * GPE0 (STS then EN, 2 bytes each) at a separate base (0xafe0); SCI on ISA IRQ 9.
 * Sleep: SLP_TYP 0 (the DSDT's \_S5) or 2 (S4) with SLP_EN -> guest shutdown.
 *
 * Two ways to use it: embed AcpiPMState in a device (the PIIX4 PM PCI function) and
 * call acpi_pm_setup/acpi_pm_reset/vmstate_acpi_pm, or create the "isa-acpi-pm"
 * device (props iobase=0x600, gpe0-base=0xafe0, sci-irq=9).
 */
#ifndef HW_ACPI_ACPI_PM_H
#define HW_ACPI_ACPI_PM_H

#include "system/timer.h"

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/vmstate.h"
#include "system/memory.h"

#define ACPI_PM_TIMER_FREQUENCY 3579545

typedef struct AcpiPMState {
    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    uint16_t gpe0_sts;
    uint16_t gpe0_en;
    uint32_t tmr_toggles;       /* bit-23 toggles of the timer already accounted */
    bool sci_en_at_reset;       /* ACPI mode from reset (no SMI_CMD handshake) */
    uint16_t pm_base;
    uint16_t gpe0_base;
    bool mapped;
    Irq *sci;
    int sci_level;
    Timer *tmr_timer;
    MemoryRegion *parent_io;
    MemoryRegion container;     /* the 64-byte PIIX4 PM I/O block (PMBA) */
    MemoryRegion io_pm;         /* at 0 in it: PM1_EVT (4), PM1_CNT (2+2), PM_TMR (4) */
    MemoryRegion io_gpe;        /* 4 bytes */
} AcpiPMState;

extern const VMStateDescription vmstate_acpi_pm;

/* Initialise `pm` and map it into `parent_io` (get_system_io()) at the given bases;
 * pm_base 0 leaves the PM block unmapped for a PCI wrapper to map acpi_pm_io_region()
 * at PMBA itself; gpe0_base 0 leaves GPE0 unmapped. */
void acpi_pm_setup(AcpiPMState *pm, MemoryRegion *parent_io, uint16_t pm_base,
                   uint16_t gpe0_base, Irq *sci);
/* Allocating variant of acpi_pm_setup. */
AcpiPMState *acpi_pm_init(MemoryRegion *parent_io, uint16_t pm_base, uint16_t gpe0_base,
                          Irq *sci);
/* The 64-byte PM I/O block (PM1_EVT at 0, PM1_CNT at 4, PM_TMR at 8). */
MemoryRegion *acpi_pm_io_region(AcpiPMState *pm);
/* Move or hide the PM1/timer registers (PIIX4 PMBA at config 0x40, PMIOSE at 0x80). */
void acpi_pm_set_base(AcpiPMState *pm, uint16_t pm_base, bool enabled);
/* Power-on state: all status/enable bits clear, SCI_EN = sci_en_at_reset. */
void acpi_pm_reset(AcpiPMState *pm);
/* APM control port (0xb2) handshake: ACPI enable (0xf1) sets SCI_EN, disable (0xf0)
 * clears it; other values are ignored here. */
void acpi_pm_apm_command(AcpiPMState *pm, uint8_t val);
/* Power button press (QMP system_powerdown): PWRBTN_STS, SCI if PWRBTN_EN. */
void acpi_pm_power_button(AcpiPMState *pm);
/* Set a GPE0 status bit (0-15), e.g. for hotplug; SCI if enabled. */
void acpi_pm_gpe_event(AcpiPMState *pm, unsigned bit);
/* The last realized PM block (for system_powerdown), or NULL. */
AcpiPMState *acpi_pm_find(void);

#endif
