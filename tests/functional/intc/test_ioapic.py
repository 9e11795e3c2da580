"""82093AA I/O APIC at 0xfec00000: registers as QEMU 7.2's pc machine shows them."""
from qtest import needs_clock

IOREGSEL, IOWIN = 0xfec00000, 0xfec00010


def rd(q, idx):
    q.writel(IOREGSEL, idx)
    return q.readl(IOWIN)


def wr(q, idx, v):
    q.writel(IOREGSEL, idx)
    q.writel(IOWIN, v)


def test_id_version_arbitration(q):
    assert rd(q, 0) == 0
    assert rd(q, 1) == 0x00170020    # version 0x20, 24 entries
    assert rd(q, 2) == 0
    wr(q, 0, 0xffffffff)
    assert rd(q, 0) == 0x0f000000
    wr(q, 1, 0)
    assert rd(q, 1) == 0x00170020


def test_redirection_table_reset_and_bits(q):
    for pin in range(24):
        assert rd(q, 0x10 + 2 * pin) == 0x00010000
        assert rd(q, 0x11 + 2 * pin) == 0
    wr(q, 0x1e, 0xffffffff)
    wr(q, 0x1f, 0xffffffff)
    assert rd(q, 0x1e) == 0xffffafff  # delivery status and remote IRR read-only
    assert rd(q, 0x1f) == 0xffffffff
    wr(q, 0x1e, 0x00010000)


def test_index_bounds(q):
    for idx in (0x03, 0x0f, 0x40, 0x5f, 0xff):
        wr(q, idx, 0x1234)
        assert rd(q, idx) == 0
    q.writel(IOREGSEL, 0x1ff)
    assert q.readl(IOREGSEL) == 0xff
    q.writel(IOREGSEL, 1)
    assert q.readb(IOWIN) == 0       # IOWIN answers 32-bit accesses only


@needs_clock
def test_pit_on_pin2_reaches_lapic(q):
    # Software-enable the local APIC (CPU 0 when no vCPU accesses it).
    q.writel(0xfee000f0, 0x1ff)
    wr(q, 0x15, 0)                   # pin 2 (ISA IRQ0 per the MADT override), dest 0
    wr(q, 0x14, 0x30)                # vector 0x30, fixed, edge, unmasked
    q.outb(0x43, 0x34)
    q.outb(0x40, 100)
    q.outb(0x40, 0)
    q.clock_step(100 * 1000000000 // 1193182 + 1)
    assert q.readl(0xfee00200 + 0x10) & (1 << 16)  # IRR bit 0x30


@needs_clock
def test_level_remote_irr_and_eoi_register(q):
    q.writel(0xfee000f0, 0x1ff)
    # RTC on pin 8 as level (what an OS may choose), vector 0x58.
    wr(q, 0x21, 0)
    wr(q, 0x20, 0x8058)
    q.outb(0x70, 0x0b)
    q.outb(0x71, 0x42)
    q.outb(0x70, 0x0c)
    q.inb(0x71)
    q.clock_step(2000000)
    assert rd(q, 0x20) & 0x4000                    # Remote IRR
    assert q.readl(0xfee00200 + 0x20) & (1 << 0x18)
    assert q.readl(0xfee00180 + 0x20) & (1 << 0x18)  # TMR: level
    q.outb(0x70, 0x0c)
    q.inb(0x71)                      # the RTC drops its line
    q.writel(0xfec00040, 0x58)       # EOI register (version 0x20)
    assert rd(q, 0x20) & 0x4000 == 0
