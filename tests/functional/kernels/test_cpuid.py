"""CPUID as the guest sees it: the CPU model (-cpu) and the -smp topology."""
import os

import pytest

from kernel_harness import assert_pass, run_kernel


def host_vendor():
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('vendor_id'):
                return line.split(':', 1)[1].strip()
    return None


def test_default_model_is_qemu64():
    args = 'vendor=AuthenticAMD family=15 model=107 brand=QEMU kvmclock=1'
    # kvm-pvm hosts answer CPUID feature bits from the host whatever the vCPU's table says;
    # on hardware KVM the model's feature mask is checked too.
    if not os.path.exists('/sys/module/kvm_pvm'):
        args += ' nosse4=1'
    status, out = run_kernel('cpuid', append=args)
    assert_pass('cpuid', status, out)


def test_host_model():
    status, out = run_kernel('cpuid', append=f'vendor={host_vendor()} kvmclock=1',
                             extra_args=('-cpu', 'host'))
    assert_pass('cpuid', status, out)


@pytest.mark.parametrize('smp,threads,cores', [('2,cores=2', 1, 2), ('4,cores=2,threads=2', 2, 2),
                                               ('8,sockets=2,cores=2,threads=2', 2, 2),
                                               ('3', 1, 1)])
def test_topology(smp, threads, cores):
    status, out = run_kernel('cpuid', append=f'threads={threads} cores={cores}',
                             extra_args=('-smp', smp))
    assert_pass('cpuid', status, out)
