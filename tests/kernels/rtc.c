/*
 * rtc.c: the MC146818 RTC behind CMOS ports 0x70/0x71 (MC146818A datasheet: registers A-D,
 * update-in-progress, BCD/binary and 12/24-hour formats, periodic interrupt): a consistent
 * date/time read while UIP is clear has fields in range, the seconds advance after 1.5 s
 * measured on the ACPI PM timer, and the periodic interrupt (register A rate 6 = 1024 Hz,
 * register B PIE) arrives on ISA IRQ 8 through the IOAPIC and is acknowledged by reading C.
 */
#include "lib/libk.h"

TEST_NAME("rtc");

#define RTC_VECTOR 0x38
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c

static volatile uint32_t ticks;

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

static void rtc_handler(struct regs *r)
{
    uint8_t c = cmos_read(REG_C);   /* acknowledges: the RTC keeps IRQ8 asserted until read */
    if (c & 0x40) {                 /* PF */
        ticks++;
    }
    lapic_eoi();
}

struct rtc_time {
    uint8_t sec, min, hour, day, month, year;
};

static uint8_t from_bcd(uint8_t v, bool bcd, bool *ok)
{
    if (!bcd) {
        return v;
    }
    if ((v & 0x0f) > 9 || (v >> 4) > 9) {
        *ok = false;
    }
    return (uint8_t)((v >> 4) * 10 + (v & 0x0f));
}

/* Reads the time twice with UIP clear until both reads agree. */
static bool read_time(struct rtc_time *t)
{
    uint8_t b = cmos_read(REG_B);
    bool bcd = !(b & 0x04), h24 = b & 0x02, ok = true;
    uint8_t raw[6], again[6];
    static const uint8_t regs[6] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09 };
    uint64_t deadline = time_us() + 3000000;
    for (;;) {
        CHECK(time_us() < deadline, "RTC update-in-progress never cleared");
        if (cmos_read(REG_A) & 0x80) {
            continue;
        }
        for (int i = 0; i < 6; i++) {
            raw[i] = cmos_read(regs[i]);
        }
        if (cmos_read(REG_A) & 0x80) {
            continue;
        }
        for (int i = 0; i < 6; i++) {
            again[i] = cmos_read(regs[i]);
        }
        if (!memcmp(raw, again, 6)) {
            break;
        }
    }
    bool pm = !h24 && (raw[2] & 0x80);
    t->sec = from_bcd(raw[0], bcd, &ok);
    t->min = from_bcd(raw[1], bcd, &ok);
    t->hour = from_bcd(raw[2] & 0x7f, bcd, &ok);
    t->day = from_bcd(raw[3], bcd, &ok);
    t->month = from_bcd(raw[4], bcd, &ok);
    t->year = from_bcd(raw[5], bcd, &ok);
    if (!h24) {
        CHECK(t->hour >= 1 && t->hour <= 12, "12-hour clock hour %u", t->hour);
        t->hour = (uint8_t)(t->hour % 12 + (pm ? 12 : 0));
    }
    return ok;
}

int main(void)
{
    struct madt_info mi;
    CHECK(madt_parse(&mi), "no MADT");
    time_init();
    pic_disable();
    lapic_enable();

    uint8_t a = cmos_read(REG_A), b = cmos_read(REG_B);
    printf("register A 0x%02x B 0x%02x\n", a, b);
    CHECK((a & 0x70) == 0x20, "register A divider bits 0x%x, expected 010 (32.768 kHz)", a & 0x70);
    struct rtc_time t1, t2;
    CHECK(read_time(&t1), "time registers are not valid BCD");
    printf("RTC: 20%02u-%02u-%02u %02u:%02u:%02u\n", t1.year, t1.month, t1.day, t1.hour, t1.min,
           t1.sec);
    CHECK(t1.sec < 60 && t1.min < 60 && t1.hour < 24, "time %u:%u:%u out of range", t1.hour,
          t1.min, t1.sec);
    CHECK(t1.day >= 1 && t1.day <= 31 && t1.month >= 1 && t1.month <= 12 && t1.year < 100,
          "date %u-%u-%u out of range", t1.year, t1.month, t1.day);
    delay_us(1500000);
    CHECK(read_time(&t2), "time registers are not valid BCD");
    uint32_t s1 = t1.hour * 3600u + t1.min * 60u + t1.sec;
    uint32_t s2 = t2.hour * 3600u + t2.min * 60u + t2.sec;
    uint32_t diff = (s2 + 86400u - s1) % 86400u;
    printf("after 1.5 s: %02u:%02u:%02u (+%u s)\n", t2.hour, t2.min, t2.sec, diff);
    CHECK(diff >= 1 && diff <= 2, "RTC advanced %u s in 1.5 s", diff);

    /* Periodic interrupt, 1024 Hz. */
    uint64_t entry;
    int pin = madt_isa_route(&mi, 8, RTC_VECTOR, &entry);
    CHECK(pin >= 0, "IRQ8's GSI %u is not on the IOAPIC", mi.isa_gsi[8]);
    irq_set_handler(RTC_VECTOR, rtc_handler);
    (void)cmos_read(REG_C);
    ioapic_set_redir(mi.ioapic_addr, pin, entry);
    cmos_write(REG_A, (uint8_t)((a & 0xf0) | 0x06));
    cmos_write(REG_B, (uint8_t)(b | 0x40));             /* PIE */
    uint64_t start = time_us();
    irq_enable();
    while (ticks < 20 && time_us() < start + 3000000) {
        cpu_relax();
    }
    irq_disable();
    uint64_t elapsed = time_us() - start;
    cmos_write(REG_B, b);
    cmos_write(REG_A, a);
    (void)cmos_read(REG_C);
    ioapic_set_redir(mi.ioapic_addr, pin, IOREDTBL_MASKED);
    printf("periodic: %u interrupts in %u us on IOAPIC pin %d\n", ticks, (unsigned)elapsed, pin);
    CHECK(ticks >= 20, "only %u RTC periodic interrupts in %u us", ticks, (unsigned)elapsed);
    /* 20 periods of 977 us: about 19.5 ms; allow slack for slow delivery, not a storm. */
    CHECK(elapsed >= 19u * 977 / 3, "%u RTC interrupts in only %u us", ticks, (unsigned)elapsed);
    return 0;
}
