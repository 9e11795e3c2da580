/*
 * pci.c: PCI configuration mechanism #1 (PCI Local Bus Spec 3.0 §3.2.2.3.2, §6.1-6.2) on the
 * i440FX/PIIX machine: enumerates bus 0 (header type bit 7 for multi-function devices), expects
 * the host bridge 00.0 (8086:1237, class 0600), the PIIX3 ISA bridge 01.0 (8086:7000, 0601,
 * multi-function) and the PIIX4 power management function 01.3 (8086:7113, 0680); sizes a BAR
 * (the IDE function's bus-master I/O BAR4, 16 bytes, when 01.1 is present); checks that the
 * PIIX4 PM I/O base (PMBA, config 0x40) is where the FADT puts PM1a_EVT, and that the
 * command register is writable.
 */
#include "lib/libk.h"

TEST_NAME("pci");

static uint32_t pci_addr(int dev, int fn, int reg)
{
    return 0x80000000u | ((uint32_t)dev << 11) | ((uint32_t)fn << 8) | ((uint32_t)reg & 0xfc);
}

static uint32_t cfg_read32(int dev, int fn, int reg)
{
    outl(0xcf8, pci_addr(dev, fn, reg));
    return inl(0xcfc);
}

static void cfg_write32(int dev, int fn, int reg, uint32_t v)
{
    outl(0xcf8, pci_addr(dev, fn, reg));
    outl(0xcfc, v);
}

int main(void)
{
    bool host = false, isa = false, pm = false;
    int ide_dev = -1, pm_dev = -1, pm_fn = -1;
    int count = 0;
    for (int dev = 0; dev < 32; dev++) {
        uint32_t id0 = cfg_read32(dev, 0, 0);
        if ((id0 & 0xffff) == 0xffff) {
            continue;
        }
        uint8_t htype = (uint8_t)(cfg_read32(dev, 0, 0x0c) >> 16);
        int nfn = (htype & 0x80) ? 8 : 1;
        for (int fn = 0; fn < nfn; fn++) {
            uint32_t id = cfg_read32(dev, fn, 0);
            if ((id & 0xffff) == 0xffff) {
                continue;
            }
            uint32_t class_rev = cfg_read32(dev, fn, 0x08);
            uint8_t ht = (uint8_t)(cfg_read32(dev, fn, 0x0c) >> 16);
            printf("00:%02x.%d %04x:%04x class %06x rev %02x header type 0x%02x\n", dev, fn,
                   id & 0xffff, id >> 16, class_rev >> 8, class_rev & 0xff, ht);
            count++;
            uint32_t base_sub = class_rev >> 16;
            host |= dev == 0 && fn == 0 && id == 0x12378086 && base_sub == 0x0600;
            if (dev == 1 && fn == 0) {
                isa = id == 0x70008086 && base_sub == 0x0601;
                CHECK(ht & 0x80, "PIIX3 00:01.0 header type 0x%02x lacks the multi-function bit",
                      ht);
            }
            if (id == 0x71138086 && base_sub == 0x0680) {
                pm = true;
                pm_dev = dev;
                pm_fn = fn;
            }
            if (id == 0x70108086 && fn == 1 && base_sub == 0x0101) {
                ide_dev = dev;
            }
        }
    }
    printf("%d functions on bus 0\n", count);
    CHECK(host, "no i440FX host bridge 8086:1237 class 0600 at 00:00.0");
    CHECK(isa, "no PIIX3 ISA bridge 8086:7000 class 0601 at 00:01.0");
    CHECK(pm, "no PIIX4 power management function 8086:7113 class 0680");

    /* PMBA (PIIX4 function 3, config 0x40, bits 15:6) must match the FADT's PM1a_EVT, as the
     * firmware (or a firmware-less VMM standing in for it) leaves it. */
    uint32_t pmba = cfg_read32(pm_dev, pm_fn, 0x40) & 0xffc0;
    uint32_t pmregmisc = cfg_read32(pm_dev, pm_fn, 0x80) & 0xff;
    const struct acpi_fadt *f = acpi_fadt();
    CHECK(f, "no FADT");
    printf("PIIX4 PMBA 0x%04x (PMIOSE %u), FADT PM1a_EVT 0x%04x\n", pmba, pmregmisc & 1,
           f->pm1a_evt_blk);
    CHECK(pmba == f->pm1a_evt_blk, "PMBA 0x%x != FADT PM1a_EVT 0x%x", pmba, f->pm1a_evt_blk);

    /* The command register is writable: toggle a harmless bit (IDE bus-master enable, or the
     * ISA bridge's SERR# enable without IDE) and restore it. */
    int cdev = ide_dev >= 0 ? ide_dev : 1, cfn = ide_dev >= 0 ? 1 : 0;
    uint32_t cmd = cfg_read32(cdev, cfn, 0x04);
    uint32_t bit = ide_dev >= 0 ? (1u << 2) : (1u << 8);       /* bus master / SERR# */
    cfg_write32(cdev, cfn, 0x04, (cmd & 0xffff) ^ bit);
    uint32_t cmd2 = cfg_read32(cdev, cfn, 0x04);
    cfg_write32(cdev, cfn, 0x04, cmd & 0xffff);
    printf("command register of 00:%02x.%d: 0x%04x -> 0x%04x -> 0x%04x\n", cdev, cfn,
           cmd & 0xffff, cmd2 & 0xffff, cfg_read32(cdev, cfn, 0x04) & 0xffff);
    CHECK(((cmd ^ cmd2) & bit) == bit, "command register bit 0x%x did not toggle", bit);

    if (ide_dev >= 0) {
        /* BAR sizing (PCI 3.0 §6.2.5.1): write ones, read the mask, restore. */
        uint32_t bar = cfg_read32(ide_dev, 1, 0x20);
        cfg_write32(ide_dev, 1, 0x20, 0xffffffff);
        uint32_t mask = cfg_read32(ide_dev, 1, 0x20);
        cfg_write32(ide_dev, 1, 0x20, bar);
        uint32_t size = ~(mask & ~0x3u) + 1;
        printf("IDE 00:%02x.1 BAR4 0x%08x, mask 0x%08x: I/O, %u bytes\n", ide_dev, bar, mask,
               size);
        CHECK(mask & 1, "BAR4 is not an I/O BAR (0x%x)", mask);
        CHECK((size & 0xffff) == 16, "BAR4 size %u, expected 16", size);
        CHECK(cfg_read32(ide_dev, 1, 0x20) == bar, "BAR4 not restored");
    } else {
        printf("no PIIX3 IDE function: BAR sizing not tried\n");
    }
    outl(0xcf8, 0);
    return 0;
}
