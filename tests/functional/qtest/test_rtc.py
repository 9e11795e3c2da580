"""MC146818A RTC / CMOS (mc146818rtc) at ports 0x70/0x71, IRQ 8."""
import calendar
import time

from qtest import QTest, needs_clock

SEC, MIN, HOUR, WDAY, MDAY, MON, YEAR = 0, 2, 4, 6, 7, 8, 9
REG_A, REG_B, REG_C, REG_D = 0x0a, 0x0b, 0x0c, 0x0d
CENTURY = 0x32


def cmos_read(q, idx):
    q.outb(0x70, idx)
    return q.inb(0x71)


def cmos_write(q, idx, val):
    q.outb(0x70, idx)
    q.outb(0x71, val)


def bcd(v):
    return (v >> 4) * 10 + (v & 15)


def read_time(q, conv):
    """Read the clock outside an update cycle (as Linux does: wait for UIP = 0)."""
    for _ in range(1000):
        if not cmos_read(q, REG_A) & 0x80:
            break
    t = [conv(cmos_read(q, r)) for r in (SEC, MIN, HOUR, MDAY, MON, YEAR, CENTURY)]
    return calendar.timegm((t[6] * 100 + t[5], t[4], t[3], t[2], t[1], t[0]))


def test_register_reset_values():
    with QTest() as q:
        assert cmos_read(q, REG_A) & 0x7f == 0x26    # 32.768 kHz, 1024 Hz rate
        assert cmos_read(q, REG_B) == 0x02           # 24 hour, BCD, interrupts off
        assert cmos_read(q, REG_C) == 0x00
        assert cmos_read(q, REG_D) == 0x80           # VRT
        assert q.inb(0x70) == 0xff                   # index register reads as 0xff


def test_time_matches_host_utc_bcd():
    with QTest() as q:
        before = int(time.time())
        t = read_time(q, bcd)
        after = int(time.time())
        assert before - 2 <= t <= after + 2
        wday = time.gmtime(t).tm_wday                # Monday = 0
        assert bcd(cmos_read(q, WDAY)) == (wday + 1) % 7 + 1   # Sunday = 1


def test_binary_mode():
    with QTest() as q:
        cmos_write(q, REG_B, 0x06)                   # DM = binary, 24 hour
        t = read_time(q, lambda v: v)
        assert abs(t - time.time()) <= 3


def test_set_time_and_12_hour_mode():
    with QTest() as q:
        cmos_write(q, REG_B, 0x82)                   # SET: stop updates
        for reg, val in ((SEC, 0x30), (MIN, 0x59), (HOUR, 0x13), (MDAY, 0x15),
                         (MON, 0x06), (YEAR, 0x21), (CENTURY, 0x20)):
            cmos_write(q, reg, val)
        assert cmos_read(q, HOUR) == 0x13            # frozen while SET
        assert cmos_read(q, SEC) == 0x30
        cmos_write(q, REG_B, 0x02)                   # run again
        t = read_time(q, bcd)
        assert calendar.timegm((2021, 6, 15, 13, 59, 30)) <= t <= \
            calendar.timegm((2021, 6, 15, 13, 59, 33))
        cmos_write(q, REG_B, 0x80)                   # 12 hour mode, BCD, SET
        cmos_write(q, HOUR, 0x81)                    # 1 PM
        cmos_write(q, REG_B, 0x02)                   # back to 24 hour reading
        assert cmos_read(q, HOUR) == 0x13


def test_nmi_bit_and_cmos_ram():
    with QTest() as q:
        q.outb(0x70, 0x80 | REG_B)                   # bit 7 masks NMI, not the index
        assert q.inb(0x71) == 0x02
        cmos_write(q, 0x40, 0xa5)
        assert cmos_read(q, 0x40) == 0xa5
        cmos_write(q, 0x7f, 0x5a)
        assert cmos_read(q, 0x7f) == 0x5a


def test_memory_size_bytes():
    with QTest(['-m', '256', '-smp', '2']) as q:
        assert cmos_read(q, 0x15) | cmos_read(q, 0x16) << 8 == 640
        assert cmos_read(q, 0x17) | cmos_read(q, 0x18) << 8 == 0xffff
        assert cmos_read(q, 0x30) | cmos_read(q, 0x31) << 8 == 0xffff
        # Above 16 MiB in 64 KiB units: (256 - 16) MiB
        assert cmos_read(q, 0x34) | cmos_read(q, 0x35) << 8 == (256 - 16) * 16
        assert cmos_read(q, 0x5b) == cmos_read(q, 0x5c) == cmos_read(q, 0x5d) == 0
        assert cmos_read(q, 0x5f) == 1               # CPUs - 1


def test_register_c_and_d_read_only():
    with QTest() as q:
        cmos_write(q, REG_C, 0xff)
        cmos_write(q, REG_D, 0x00)
        assert cmos_read(q, REG_C) == 0x00
        assert cmos_read(q, REG_D) == 0x80


@needs_clock
def test_periodic_interrupt_on_irq8():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        cmos_write(q, REG_A, 0x26)                   # 1024 Hz
        cmos_read(q, REG_C)
        cmos_write(q, REG_B, 0x42)                   # PIE
        assert not q.get_irq(8)
        q.clock_step(1_000_000)                      # > 976.5 us
        assert q.get_irq(8)
        assert cmos_read(q, REG_C) & 0xc0 == 0xc0    # IRQF | PF, cleared by the read
        assert not q.get_irq(8)
        assert cmos_read(q, REG_C) == 0x00
        cmos_write(q, REG_B, 0x02)                   # PF is set even without PIE
        q.clock_step(1_000_000)
        assert not q.get_irq(8)
        assert cmos_read(q, REG_C) == 0x40
        # The rate follows RS: 2 Hz (rate 15) does not fire within 400 ms.
        cmos_write(q, REG_A, 0x2f)
        cmos_read(q, REG_C)
        q.clock_step(400_000_000)
        q.clock_step(1)
        ticks = 0
        for _ in range(4):
            q.clock_step(250_000_000)
            if cmos_read(q, REG_C) & 0x40:
                ticks += 1
        assert ticks == 2                            # one per 500 ms over one second


@needs_clock
def test_update_ended_and_alarm_interrupts():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        cmos_write(q, REG_A, 0x20)                   # no periodic rate: PF stays clear
        cmos_write(q, 0x01, 0xc0)                    # alarm: every second ("don't care")
        cmos_write(q, 0x03, 0xc0)
        cmos_write(q, 0x05, 0xc0)
        cmos_read(q, REG_C)
        cmos_write(q, REG_B, 0x32)                   # AIE | UIE
        q.clock_step(1_100_000_000)
        assert q.get_irq(8)
        assert cmos_read(q, REG_C) == 0xb0           # IRQF | AF | UF
        assert not q.get_irq(8)
        cmos_write(q, REG_B, 0x02)
        q.clock_step(1_100_000_000)
        assert not q.get_irq(8)
        assert cmos_read(q, REG_C) == 0x30           # flags set, but no IRQF


@needs_clock
def test_divider_reset_uip_and_alarm():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        cmos_write(q, REG_B, 0x82)                   # SET, 24 hour, BCD
        for reg, val in ((SEC, 0x58), (MIN, 0x59), (HOUR, 0x23), (MDAY, 0x31),
                         (MON, 0x12), (YEAR, 0x99), (CENTURY, 0x20)):
            cmos_write(q, reg, val)
        cmos_write(q, 0x01, 0x00)                    # alarm at 00:00:00
        cmos_write(q, 0x03, 0x00)
        cmos_write(q, 0x05, 0x00)
        cmos_write(q, REG_A, 0x70)                   # divider chain held in reset
        cmos_write(q, REG_B, 0x22)                   # run, AIE
        cmos_read(q, REG_C)
        cmos_write(q, REG_A, 0x20)                   # release: first update 500 ms later
        assert cmos_read(q, REG_A) & 0x80 == 0
        q.clock_step(499_000_000)                    # 1 ms before the update: UIP
        assert cmos_read(q, REG_A) & 0x80
        assert cmos_read(q, SEC) == 0x58
        q.clock_step(2_000_000)
        assert cmos_read(q, REG_A) & 0x80 == 0
        assert cmos_read(q, SEC) == 0x59
        assert not q.get_irq(8)
        q.clock_step(1_000_000_000)                  # 2100-01-01 00:00:00: the alarm
        assert q.get_irq(8)
        assert cmos_read(q, REG_C) & 0xa0 == 0xa0    # IRQF | AF
        assert [cmos_read(q, r) for r in (SEC, MIN, HOUR, MDAY, MON, YEAR, CENTURY)] == \
            [0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x21]


def test_rtc_base_datetime():
    # -rtc is parsed by system/options.c, which hands it to rtc_configure().
    with QTest(['-rtc', 'base=2006-06-17T16:01:21']) as q:
        t = read_time(q, bcd)
        assert calendar.timegm((2006, 6, 17, 16, 1, 21)) <= t <= \
            calendar.timegm((2006, 6, 17, 16, 1, 26)), time.gmtime(t)
        assert bcd(cmos_read(q, WDAY)) == 7          # a Saturday


@needs_clock
def test_far_future_date_runs():
    # Year 9999 is beyond 64-bit nanoseconds since 1970: the clock must still run.
    with QTest() as q:
        cmos_write(q, REG_B, 0x82)
        for reg, val in ((SEC, 0x57), (MIN, 0x59), (HOUR, 0x23), (MDAY, 0x31),
                         (MON, 0x12), (YEAR, 0x99), (CENTURY, 0x99)):
            cmos_write(q, reg, val)
        cmos_write(q, REG_B, 0x02)
        q.clock_step(1_000_000_000)
        assert [cmos_read(q, r) for r in (MIN, HOUR, MDAY, MON, YEAR, CENTURY)] == \
            [0x59, 0x23, 0x31, 0x12, 0x99, 0x99]
        assert cmos_read(q, SEC) in (0x58, 0x59)
