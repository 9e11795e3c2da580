"""The interrupt test kernels (tests/kernels: MMIO registers, PIT through the I/O APIC,
LAPIC timer, INIT/SIPI and IPIs, COM1 and RTC interrupts, a LAPIC interrupt through the
real-mode IVT) booted under KVM with `-machine kernel-irqchip=off`, so every interrupt goes
through the userspace 8259/I/O APIC/LAPIC/PIT.  KEMU_SYSTEM=qemu-system-x86_64 runs them on
QEMU's userspace controllers, the reference: with -smp 1 all pass there (QEMU 7.2 on this
kvm-pvm host); with -smp 2 and 4 QEMU's deprecated userspace LAPIC under KVM times out."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'kernels'))

from kernel_harness import (assert_pass, describe, run_kernel,  # noqa: E402
                            software_int_works)

IRQCHIP_OFF = ('-machine', 'kernel-irqchip=off')


def run(name, smp=1, append=None):
    status, out = run_kernel(name, smp=smp, append=append, extra_args=IRQCHIP_OFF)
    if status not in (1,) and 'kernel-irqchip' in run_kernel.last_stderr:
        pytest.skip('kemu refuses kernel-irqchip=off: %s' % run_kernel.last_stderr.strip())
    return status, out


@pytest.mark.parametrize('name', ['mmio', 'pit_irq', 'lapic_timer', 'serial', 'rtc'])
@pytest.mark.parametrize('smp', [1, 2])
def test_interrupt_kernels(name, smp):
    status, out = run(name, smp=smp)
    assert_pass(name, status, out)


@pytest.mark.parametrize('smp', [1, 2, 4])
def test_smp(smp):
    status, out = run('smp', smp=smp)
    assert_pass('smp', status, out)


def test_realmode():
    status, out = run('realmode', append=None if software_int_works() else 'softint=0')
    assert_pass('realmode', status, out)


def test_userspace_ioapic_is_used():
    # The mmio kernel prints the I/O APIC version: KVM's in-kernel one reports 0x11, the
    # userspace model QEMU's 0x20, so this proves the run did not fall back to KVM's.
    status, out = run('mmio')
    assert_pass('mmio', status, out)
    assert 'IOAPIC version register 0x00170020' in out, describe(status, out)
