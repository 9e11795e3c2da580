"""Local APIC registers at 0xfee00000 (kemu only: QEMU shows the local APIC to vCPUs
alone; without a current vCPU kemu's qtest accesses go to CPU 0's APIC)."""
import pytest

from qtest import is_qemu, needs_clock

APIC = 0xfee00000
pytestmark = pytest.mark.skipif(is_qemu(), reason='QEMU maps the local APIC per vCPU only')


def test_reset_values(q):
    assert q.readl(APIC + 0x20) == 0            # ID of CPU 0
    assert q.readl(APIC + 0x30) == 0x00050014   # version 0x14, 6 LVT entries
    assert q.readl(APIC + 0x80) == 0
    assert q.readl(APIC + 0xe0) == 0xffffffff
    assert q.readl(APIC + 0xf0) == 0xff
    for off in range(0x320, 0x380, 0x10):
        # LINT0 of the BSP in virtual wire mode (ExtINT), as KVM's in-kernel LAPIC.
        assert q.readl(APIC + off) == (0x700 if off == 0x350 else 0x10000)


def test_self_ipi_and_eoi(q):
    q.writel(APIC + 0xf0, 0x1ff)
    q.writel(APIC + 0x300, 0x40000 | 0x41)      # fixed, self
    assert q.readl(APIC + 0x220) & 2            # IRR bit 0x41
    q.writel(APIC + 0x80, 0x40)
    assert q.readl(APIC + 0xa0) == 0x40         # PPR follows TPR


def test_esr_illegal_register_and_vector(q):
    q.writel(APIC + 0xf0, 0x1ff)
    q.readl(APIC + 0x40)
    q.writel(APIC + 0x280, 0)
    assert q.readl(APIC + 0x280) == 0x80
    q.writel(APIC + 0x300, 0x40000 | 0x05)      # illegal vector
    q.writel(APIC + 0x280, 0)
    assert q.readl(APIC + 0x280) & 0x20


@needs_clock
def test_timer_one_shot(q):
    q.writel(APIC + 0xf0, 0x1ff)
    q.writel(APIC + 0x3e0, 0x0b)                # divide by 1 (1 GHz)
    q.writel(APIC + 0x320, 0x33)
    q.writel(APIC + 0x380, 10000)
    q.clock_step(4000)
    assert q.readl(APIC + 0x390) == 6000
    q.clock_step(6001)
    assert q.readl(APIC + 0x390) == 0
    assert q.readl(APIC + 0x210) & (1 << 0x13)  # IRR bit 0x33
