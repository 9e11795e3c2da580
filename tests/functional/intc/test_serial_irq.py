"""The 8259 pair and the I/O APIC driven by a real interrupt source: COM1's THRE interrupt
(IRQ 4, raised while IER.ETBEI = 1 and MCR.OUT2 = 1, dropped by IER = 0).  No clock is
needed, so every expectation here is checked against QEMU 7.2 as well."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'qtest'))

from qtest import QTest, is_qemu  # noqa: E402
from test_pic import linux_init  # noqa: E402

IOREGSEL, IOWIN, IOEOI = 0xfec00000, 0xfec00010, 0xfec00040
RIRR = 0x4000


@pytest.fixture
def q():
    t = QTest(['-machine', 'kernel-irqchip=off', '-serial', 'null'])
    try:
        if not is_qemu():
            t.writel(IOREGSEL, 1)
            if t.readl(IOWIN) in (0xffffffff, 0):
                pytest.skip('pc board does not instantiate the userspace irqchip '
                            '(kernel-irqchip=off) yet')
        t.outb(0x3fc, 0x08)          # MCR.OUT2: the UART's interrupt reaches IRQ 4
        yield t
    finally:
        t.close()


def line(q, up):
    q.outb(0x3f9, 0x02 if up else 0x00)


def irr(q):
    q.outb(0x20, 0x0a)
    return q.inb(0x20)


def isr(q):
    q.outb(0x20, 0x0b)
    return q.inb(0x20)


def poll(q):
    q.outb(0x20, 0x0c)
    return q.inb(0x20)


def test_pic_edge(q):
    linux_init(q)
    line(q, 1)
    assert (irr(q), isr(q)) == (0x10, 0)
    assert poll(q) == 0x84           # poll = INTA: IR4 goes in service
    assert (isr(q), irr(q)) == (0x10, 0)
    q.outb(0x20, 0x20)
    assert isr(q) == 0
    line(q, 0)
    line(q, 1)
    assert irr(q) == 0x10
    line(q, 0)
    assert irr(q) == 0x10            # an edge request stays latched
    assert poll(q) == 0x84
    q.outb(0x20, 0x20)


def test_pic_level_mask_smm(q):
    linux_init(q)
    q.outb(0x4d0, 0x10)              # IRQ 4 level triggered
    assert irr(q) == 0
    line(q, 1)
    assert irr(q) == 0x10
    line(q, 0)
    assert (irr(q), poll(q), isr(q)) == (0, 0, 0)   # follows the line
    line(q, 1)
    assert poll(q) == 0x84
    assert (isr(q), irr(q)) == (0x10, 0x10)
    q.outb(0x20, 0x64)               # specific EOI
    assert (isr(q), irr(q)) == (0, 0x10)
    q.outb(0x21, 0x10)
    assert (poll(q), irr(q)) == (0, 0x10)           # masked
    q.outb(0x21, 0x00)
    q.outb(0x20, 0x68)               # special mask mode on
    assert poll(q) == 0x84
    q.outb(0x20, 0x20)
    q.outb(0x20, 0x48)
    line(q, 0)
    q.outb(0x4d0, 0)


def rd(q, idx):
    q.writel(IOREGSEL, idx)
    return q.readl(IOWIN)


def wr(q, idx, v):
    q.writel(IOREGSEL, idx)
    q.writel(IOWIN, v)


def test_ioapic_level_remote_irr(q):
    wr(q, 0x19, 0)
    wr(q, 0x18, 0x8044)              # pin 4: level, vector 0x44, physical APIC 0
    assert rd(q, 0x18) == 0x8044
    line(q, 1)
    assert rd(q, 0x18) == 0x8044 | RIRR
    q.writel(IOEOI, 0x44)            # EOI while asserted: sent again
    assert rd(q, 0x18) == 0x8044 | RIRR
    line(q, 0)
    q.writel(IOEOI, 0x44)
    assert rd(q, 0x18) == 0x8044
    wr(q, 0x18, 0x18044)             # masked: nothing sent
    line(q, 1)
    assert rd(q, 0x18) == 0x18044
    wr(q, 0x18, 0x8044)              # unmasked while asserted: sent
    assert rd(q, 0x18) == 0x8044 | RIRR
    q.writel(IOEOI, 0x45)            # another vector: no effect
    assert rd(q, 0x18) == 0x8044 | RIRR
    wr(q, 0x18, 0x0044)              # edge: Remote IRR dropped
    assert rd(q, 0x18) == 0x0044
    wr(q, 0x18, 0x8044)
    # Back to level with the line still asserted: the 82093AA samples the asserted input
    # and sends (kemu); QEMU's model waits for the next edge.
    assert rd(q, 0x18) == (0x8044 if is_qemu() else 0x8044 | RIRR)
    q.writel(IOEOI, 0x44)
    line(q, 0)
    q.writel(IOEOI, 0x44)
    # NMI and ExtINT are not EOIed by a local APIC (SDM Vol. 3A §11.5.1: they are edge
    # deliveries), so kemu sets Remote IRR for fixed and lowest-priority entries only;
    # QEMU's model sets it for every level entry (and the pin then stays blocked).
    for mode in (4, 7):              # NMI, ExtINT
        wr(q, 0x18, 0x8044 | mode << 8)
        line(q, 1)
        assert rd(q, 0x18) == 0x8044 | mode << 8 | (RIRR if is_qemu() else 0)
        line(q, 0)
        wr(q, 0x18, 0x0044)
    wr(q, 0x18, 0x10000)
