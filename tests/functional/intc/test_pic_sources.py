"""The 8259 pair with several real sources at once, no clock needed, so each expected value
below was taken from QEMU 7.2 (KEMU_SYSTEM=qemu-system-x86_64) and kemu must give the same:
COM1's THRE interrupt (IRQ 4), the i8042's keyboard (IRQ 1, command 0xd2) and mouse
(IRQ 12, command 0xd3) output buffers."""
import pytest

from test_serial_irq import q, line  # noqa: F401  (fixture: kernel-irqchip=off with COM1)


def init(q, icw4=0x01):
    for port, icw in ((0x20, (0x11, 0x30, 0x04, icw4)), (0xa0, (0x11, 0x38, 0x02, 0x01))):
        q.outb(port, icw[0])
        for b in icw[1:]:
            q.outb(port + 1, b)


def state(q):
    """(master IRR, master ISR, slave IRR, slave ISR)"""
    out = []
    for port in (0x20, 0xa0):
        for ocw3 in (0x0a, 0x0b):
            q.outb(port, ocw3)
            out.append(q.inb(port))
    return tuple(out)


def poll(q, port=0x20):
    q.outb(port, 0x0c)
    return q.inb(port)


def kbd(q, v):
    q.outb(0x64, 0xd2)
    q.outb(0x60, v)


def aux(q, v):
    q.outb(0x64, 0xd3)
    q.outb(0x60, v)


@pytest.fixture
def sources(q):  # noqa: F811
    q.outb(0x64, 0x60)
    q.outb(0x60, 0x03)               # i8042: IRQ1 and IRQ12 enabled
    return q


def test_priority_and_poll(sources):
    q = sources
    init(q)
    line(q, 1)
    kbd(q, 0x11)
    aux(q, 0x22)
    assert state(q) == (0x12, 0, 0, 0)
    assert poll(q) == 0x81
    assert state(q) == (0x10, 0x02, 0, 0)
    assert poll(q) == 0              # IR4 waits behind IR1 in service
    assert poll(q, 0xa0) == 0
    q.outb(0x20, 0x20)
    assert state(q) == (0x10, 0, 0, 0)
    line(q, 0)


def test_auto_eoi_and_rotation(sources):
    q = sources
    init(q, icw4=0x03)               # AEOI
    line(q, 1)
    kbd(q, 0x33)
    assert poll(q) == 0x81
    assert state(q) == (0x10, 0, 0, 0)
    assert poll(q) == 0x84
    assert state(q) == (0, 0, 0, 0)
    q.inb(0x60)
    line(q, 0)


def test_set_priority_and_rotate(sources):
    q = sources
    init(q)
    q.outb(0x20, 0xc3)               # IR3 lowest: IR4 highest
    line(q, 1)
    kbd(q, 0x44)
    assert poll(q) == 0x84
    assert state(q) == (0x02, 0x10, 0, 0)
    q.outb(0x20, 0x20)
    assert state(q) == (0x02, 0, 0, 0)
    assert poll(q) == 0x81
    q.outb(0x20, 0xa0)               # rotate on non-specific EOI: IR1 lowest
    assert state(q) == (0, 0, 0, 0)
    q.inb(0x60)
    line(q, 0)
    line(q, 1)
    kbd(q, 0x55)
    assert poll(q) == 0x84           # IR4 before IR1 after the rotation
    assert state(q) == (0x02, 0x10, 0, 0)
    q.outb(0x20, 0xe1)               # rotate on specific EOI of IR1 (not in service)
    assert state(q) == (0x02, 0x10, 0, 0)
    q.inb(0x60)
    line(q, 0)


def test_special_fully_nested(sources):
    q = sources
    init(q, icw4=0x11)               # SFNM on the master
    aux(q, 0x66)
    assert poll(q) == 0x82
    assert poll(q, 0xa0) == 0x84
    assert state(q) == (0, 0x04, 0, 0x10)
    q.inb(0x60)
    aux(q, 0x77)
    assert poll(q) == 0              # the same slave level is not nested
    assert state(q) == (0, 0x04, 0x10, 0x10)
