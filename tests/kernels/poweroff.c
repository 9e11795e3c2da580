/*
 * poweroff.c: ACPI S5 soft-off (ACPI 6.4 §7.4.2 \_Sx objects, §4.8.3.2.1 PM1 control: SLP_TYP
 * bits 12:10, SLP_EN bit 13; §16.3 ACPI enable through SMI_CMD). SLP_TYPa/b come from the
 * DSDT's \_S5 package. The VM must end with status 0; if it is still running a while after
 * SLP_EN, the test fails through isa-debug-exit.
 */
#include "lib/libk.h"

TEST_NAME("poweroff");

#define SCI_EN (1u << 0)
#define SLP_EN (1u << 13)

/* One AML integer of a package element (ACPI 6.4 §20.2.3); false if not a simple constant. */
static bool aml_int(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
    const uint8_t *p = *pp;
    if (p >= end) {
        return false;
    }
    switch (*p) {
    case 0x00: *v = 0; p += 1; break;                       /* ZeroOp */
    case 0x01: *v = 1; p += 1; break;                       /* OneOp */
    case 0xff: *v = 0xffffffffu; p += 1; break;             /* OnesOp */
    case 0x0a: *v = p[1]; p += 2; break;                    /* BytePrefix */
    case 0x0b: *v = p[1] | (p[2] << 8); p += 3; break;      /* WordPrefix */
    case 0x0c: memcpy(v, p + 1, 4); p += 5; break;          /* DWordPrefix */
    default: return false;
    }
    *pp = p;
    return p <= end;
}

static bool find_s5(const struct acpi_header *dsdt, uint32_t *typa, uint32_t *typb)
{
    const uint8_t *base = (const uint8_t *)dsdt, *end = base + dsdt->length;
    for (const uint8_t *p = base + sizeof(*dsdt); p + 8 < end; p++) {
        if (memcmp(p, "_S5_", 4) || p[4] != 0x12) {         /* Name(_S5_, Package ...) */
            continue;
        }
        const uint8_t *q = p + 5;
        q += 1 + (*q >> 6);                                 /* PkgLength */
        uint8_t nelem = *q++;
        if (nelem < 1 || !aml_int(&q, end, typa)) {
            return false;
        }
        if (nelem < 2 || !aml_int(&q, end, typb)) {
            *typb = *typa;
        }
        return true;
    }
    return false;
}

int main(void)
{
    time_init();
    const struct acpi_fadt *f = acpi_fadt();
    CHECK(f, "no FADT");
    const struct acpi_header *dsdt = acpi_find_table("DSDT", 0);
    CHECK(dsdt, "no DSDT");
    uint32_t typa, typb;
    CHECK(find_s5(dsdt, &typa, &typb), "no parsable \\_S5 package in the DSDT");
    printf("\\_S5: SLP_TYPa %u SLP_TYPb %u; PM1a_CNT 0x%x PM1b_CNT 0x%x\n", typa, typb,
           f->pm1a_cnt_blk, f->pm1b_cnt_blk);
    CHECK(f->pm1a_cnt_blk && f->pm1a_cnt_blk <= 0xffff, "PM1a_CNT 0x%x", f->pm1a_cnt_blk);
    uint16_t cnt = (uint16_t)f->pm1a_cnt_blk;

    uint16_t v = inw(cnt);
    printf("PM1a_CNT = 0x%04x (SCI_EN %u)\n", v, v & SCI_EN);
    if (!(v & SCI_EN) && f->smi_cmd && f->acpi_enable) {
        printf("enabling ACPI: SMI_CMD 0x%x <- 0x%x\n", f->smi_cmd, f->acpi_enable);
        outb((uint16_t)f->smi_cmd, f->acpi_enable);
        uint64_t deadline = time_us() + 1000000;
        while (!(inw(cnt) & SCI_EN) && time_us() < deadline) {
            cpu_relax();
        }
        printf("PM1a_CNT = 0x%04x after ACPI enable\n", inw(cnt));
    }

    printf("PASS %s (entering S5; the VM must now end with status 0)\n", test_name);
    irq_disable();
    outw(cnt, (uint16_t)((inw(cnt) & ~(7u << 10)) | ((typa & 7) << 10) | SLP_EN));
    if (f->pm1b_cnt_blk) {
        uint16_t cntb = (uint16_t)f->pm1b_cnt_blk;
        outw(cntb, (uint16_t)((inw(cntb) & ~(7u << 10)) | ((typb & 7) << 10) | SLP_EN));
    }
    delay_us(2000000);
    test_fail(EXIT_FAIL, "still running 2 s after writing SLP_EN");
}
