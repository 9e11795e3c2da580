"""The same test kernels with the userspace interrupt controllers (-machine
kernel-irqchip=off): 8259 PIC, I/O APIC, local APICs and 8254 PIT emulated by kemu instead of
KVM, so both interrupt paths are held to the same guest-visible behaviour."""
import pytest

from kernel_harness import assert_pass, run_kernel

OFF = ('-machine', 'kernel-irqchip=off')


@pytest.mark.parametrize('name', ['hello', 'ports', 'mmio', 'pit_irq', 'lapic_timer', 'acpi',
                                  'memsize', 'serial', 'rtc', 'pci', 'exceptions'])
def test_kernel_irqchip_off(name):
    status, out = run_kernel(name, extra_args=OFF)
    assert_pass(name, status, out)


@pytest.mark.parametrize('smp', [1, 2, 4])
def test_smp_irqchip_off(smp):
    """INIT/SIPI and IPIs through the userspace local APICs."""
    status, out = run_kernel('smp', smp=smp, extra_args=OFF)
    assert_pass('smp', status, out)


def test_poweroff_irqchip_off():
    status, out = run_kernel('poweroff', extra_args=OFF)
    assert_pass('poweroff', status, out, expect_status=0)
