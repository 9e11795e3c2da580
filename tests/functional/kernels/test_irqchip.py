"""The test kernels with kemu's own interrupt controllers: -machine kernel-irqchip=off (8259
PIC, I/O APIC, local APICs and 8254 PIT all emulated by kemu) and kernel-irqchip=split (local
APICs in KVM; PIC, I/O APIC and PIT in kemu, IOAPIC messages sent as MSIs, level-triggered
EOIs coming back through KVM exits), so every interrupt path is held to the same
guest-visible behaviour as the in-kernel one."""
import pytest

from kernel_harness import assert_pass, run_kernel

KERNELS = ['hello', 'ports', 'mmio', 'pit_irq', 'lapic_timer', 'acpi', 'memsize', 'serial',
           'rtc', 'pci', 'exceptions', 'level_irq', 'cpuid']


@pytest.mark.parametrize('mode', ['on', 'off', 'split'])
@pytest.mark.parametrize('name', KERNELS)
def test_kernel_irqchip(name, mode):
    status, out = run_kernel(name, extra_args=('-machine', f'kernel-irqchip={mode}'))
    assert_pass(name, status, out)


@pytest.mark.parametrize('mode', ['off', 'split'])
@pytest.mark.parametrize('smp', [1, 2, 4])
def test_smp_irqchip(smp, mode):
    """INIT/SIPI and IPIs through kemu's local APICs (off) or KVM's (split)."""
    status, out = run_kernel('smp', smp=smp, extra_args=('-machine', f'kernel-irqchip={mode}'))
    assert_pass('smp', status, out)


@pytest.mark.parametrize('mode', ['off', 'split'])
def test_poweroff_irqchip(mode):
    status, out = run_kernel('poweroff', extra_args=('-machine', f'kernel-irqchip={mode}'))
    assert_pass('poweroff', status, out, expect_status=0)
