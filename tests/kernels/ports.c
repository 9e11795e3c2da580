/*
 * ports.c: port I/O of 8, 16 and 32 bits against devices with known answers:
 *  - 8 bit: isa-debugcon at 0xe9 (writes; with "debugcon=1" on the command line the device
 *    must be there and a read returns its readback value 0xe9, without it a read may return
 *    0xe9 or 0xff for an unassigned port),
 *    MC146818 CMOS at 0x70/0x71 (status register D reports valid RAM, a scratch byte of the
 *    general-purpose RAM reads back what was written),
 *  - 32 bit: PCI configuration mechanism #1 (PCI Local Bus Spec 3.0 §3.2.2.3.2): CONFIG_ADDRESS
 *    at 0xcf8 reads back, the i440FX host bridge at 00:00.0 reads 0x12378086, an absent device
 *    reads all ones,
 *  - 8/16 bit: sub-dword CONFIG_DATA accesses at 0xcfc-0xcff select the matching bytes.
 */
#include "lib/libk.h"

TEST_NAME("ports");

#define PCI_ADDR(bus, dev, fn, reg) \
    (0x80000000u | ((bus) << 16) | ((dev) << 11) | ((fn) << 8) | ((reg) & 0xfc))

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(0x70, reg);
    outb(0x71, v);
}

int main(void)
{
    /* isa-debugcon: 8-bit writes; reads return the readback byte (0xe9 by default). */
    const char *msg = "ports: hello debugcon\n";
    for (const char *p = msg; *p; p++) {
        outb(0xe9, (uint8_t)*p);
    }
    uint8_t rb = inb(0xe9);
    printf("debugcon readback: 0x%02x\n", rb);
    if (cmdline_int("debugcon", 0)) {
        CHECK(rb == 0xe9, "debugcon readback 0x%02x, expected 0xe9", rb);
    } else {
        CHECK(rb == 0xe9 || rb == 0xff, "port 0xe9 read 0x%02x, expected 0xe9 or 0xff", rb);
    }

    /* CMOS: register D bit 7 (VRT) says the RAM/time are valid. */
    uint8_t regd = cmos_read(0x0d);
    printf("CMOS register D: 0x%02x\n", regd);
    CHECK(regd & 0x80, "CMOS register D VRT bit clear (0x%02x)", regd);
    /* General-purpose CMOS RAM (0x0e-0x7f); 0x7e is unused by the PC firmware layout. */
    uint8_t saved = cmos_read(0x7e);
    static const uint8_t patterns[] = { 0x5a, 0xa5, 0x00, 0xff };
    for (unsigned i = 0; i < ARRAY_SIZE(patterns); i++) {
        cmos_write(0x7e, patterns[i]);
        uint8_t got = cmos_read(0x7e);
        CHECK(got == patterns[i], "CMOS[0x7e] wrote 0x%02x read 0x%02x", patterns[i], got);
    }
    cmos_write(0x7e, saved);
    printf("CMOS scratch byte ok\n");

    /* PCI: CONFIG_ADDRESS is a 32-bit read/write register. */
    outl(0xcf8, PCI_ADDR(0, 0, 0, 0));
    uint32_t addr = inl(0xcf8);
    CHECK(addr == PCI_ADDR(0, 0, 0, 0), "CONFIG_ADDRESS read back 0x%08x", addr);
    uint32_t id = inl(0xcfc);
    printf("PCI 00:00.0 id: 0x%08x\n", id);
    CHECK(id == 0x12378086, "host bridge vendor/device 0x%08x, expected 8086:1237", id);

    /* 16-bit halves: vendor at 0xcfc, device at 0xcfe. */
    outl(0xcf8, PCI_ADDR(0, 0, 0, 0));
    uint16_t vendor = inw(0xcfc), device = inw(0xcfe);
    printf("PCI 00:00.0 vendor 0x%04x device 0x%04x (16-bit)\n", vendor, device);
    CHECK(vendor == 0x8086 && device == 0x1237, "16-bit reads gave %04x:%04x", vendor, device);

    /* 8-bit: class code bytes at 0x0a (subclass) and 0x0b (base class): host bridge 06:00. */
    outl(0xcf8, PCI_ADDR(0, 0, 0, 0x08));
    uint8_t subclass = inb(0xcfe), baseclass = inb(0xcff);
    printf("PCI 00:00.0 class 0x%02x%02x (8-bit)\n", baseclass, subclass);
    CHECK(baseclass == 0x06 && subclass == 0x00, "class %02x:%02x, expected 06:00", baseclass,
          subclass);

    /* The PIIX3 ISA bridge at 00:01.0 is 8086:7000, class 06:01. */
    outl(0xcf8, PCI_ADDR(0, 1, 0, 0));
    id = inl(0xcfc);
    printf("PCI 00:01.0 id: 0x%08x\n", id);
    CHECK(id == 0x70008086, "PIIX3 vendor/device 0x%08x, expected 8086:7000", id);

    /* An empty slot reads as all ones. */
    outl(0xcf8, PCI_ADDR(0, 31, 0, 0));
    id = inl(0xcfc);
    printf("PCI 00:1f.0 id: 0x%08x\n", id);
    CHECK(id == 0xffffffff, "absent device 00:1f.0 read 0x%08x", id);
    outl(0xcf8, 0);
    return 0;
}
