"""8259A pair (ports 0x20/0x21, 0xa0/0xa1) and the PIIX ELCR (0x4d0/0x4d1)."""
from qtest import is_qemu, needs_clock


def linux_init(q, base_m=0x30, base_s=0x38):
    for port, icw in ((0x20, (0x11, base_m, 0x04, 0x01)), (0xa0, (0x11, base_s, 0x02, 0x01))):
        q.outb(port, icw[0])
        for b in icw[1:]:
            q.outb(port + 1, b)


def test_reset_state(q):
    assert [q.inb(p) for p in (0x20, 0x21, 0xa0, 0xa1)] == [0] * 4
    elcr = (q.inb(0x4d0), q.inb(0x4d1))
    if is_qemu():
        assert elcr == (0, 0)
    else:
        # The device resets to all-edge; the board may then program the PCI IRQs as level
        # (what firmware does, when kemu boots without it).
        assert elcr[0] & ~0xf8 == 0 and elcr[1] & ~0xde == 0


def test_elcr_masks(q):
    q.outb(0x4d0, 0xff)
    q.outb(0x4d1, 0xff)
    assert q.inb(0x4d0) == 0xf8      # IRQ0-2 edge only
    assert q.inb(0x4d1) == 0xde      # IRQ8 and IRQ13 edge only
    q.outb(0x4d0, 0x20)
    q.outb(0x4d1, 0x0c)
    assert (q.inb(0x4d0), q.inb(0x4d1)) == (0x20, 0x0c)


def test_init_and_readback(q):
    linux_init(q)
    assert q.inb(0x21) == 0 and q.inb(0xa1) == 0
    q.outb(0x21, 0xa5)
    q.outb(0xa1, 0x5a)
    assert (q.inb(0x21), q.inb(0xa1)) == (0xa5, 0x5a)
    q.outb(0x20, 0x0b)               # OCW3: read ISR, sticky
    assert q.inb(0x20) == 0 and q.inb(0x20) == 0
    q.outb(0x20, 0x0a)
    assert q.inb(0x20) == 0
    q.outb(0x20, 0x0c)               # poll with nothing pending
    assert q.inb(0x20) == 0
    # ICW1 again clears the mask.
    linux_init(q, 0x08, 0x70)
    assert q.inb(0x21) == 0


@needs_clock
def test_pit_irq0_edge_latched_in_irr(q):
    linux_init(q)
    q.outb(0x21, 0xff)               # masked: the request still reaches the IRR
    q.outb(0x43, 0x34)
    q.outb(0x40, 100)
    q.outb(0x40, 0)
    q.outb(0x20, 0x0a)
    # Programming the counter for mode 2 left OUT high: no new edge yet.
    assert q.inb(0x20) & 1 == 0
    q.clock_step(100 * 1000000000 // 1193182 + 1)
    assert q.inb(0x20) & 1 == 1
    q.outb(0x21, 0xfe)
    q.outb(0x20, 0x0c)               # poll: acknowledges IR0
    assert q.inb(0x20) == 0x80
    q.outb(0x20, 0x0b)
    assert q.inb(0x20) == 0x01
    q.outb(0x20, 0x20)
    assert q.inb(0x20) == 0


@needs_clock
def test_rtc_irq8_through_cascade(q):
    linux_init(q)
    q.outb(0x70, 0x0b)
    q.outb(0x71, 0x42)               # PIE, 24 h
    q.outb(0x70, 0x0c)
    q.inb(0x71)
    q.clock_step(2000000)            # 1024 Hz periodic interrupt
    q.outb(0xa0, 0x0a)
    assert q.inb(0xa0) & 1
    q.outb(0x20, 0x0a)
    assert q.inb(0x20) & 4           # slave INT on master IR2
