"""qtest fixture for the userspace interrupt controllers and PIT.

The machine runs with `-machine kernel-irqchip=off`, where the pc board uses the userspace
8259 pair, I/O APIC, local APIC and PIT (hw/intc/, hw/timer/i8254.c).  Against Debian's
QEMU (KEMU_SYSTEM=qemu-system-x86_64) the same tests validate the expected values with
TCG and a stopped vCPU; tests that step the clock or read the local APIC (which QEMU only
shows to a vCPU) are kemu-only.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'qtest'))

from qtest import QTest, is_qemu  # noqa: E402


@pytest.fixture
def q():
    t = QTest(['-machine', 'kernel-irqchip=off'])
    try:
        if not is_qemu():
            # Until the board wires the userspace controllers for kernel-irqchip=off, the
            # I/O APIC page is unassigned and reads as all-ones: there is nothing to test.
            t.writel(0xfec00000, 1)
            if t.readl(0xfec00010) in (0xffffffff, 0):
                pytest.skip('pc board does not instantiate the userspace irqchip '
                            '(kernel-irqchip=off) yet')
        yield t
    finally:
        t.close()
