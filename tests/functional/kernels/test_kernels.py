"""Boot each freestanding test kernel (tests/kernels/) and check its PASS line and exit status.
See kernel_harness.py for the environment variables; run with

    /usr/bin/python3 -m pytest tests/functional/kernels
    KEMU_SYSTEM=qemu-system-x86_64 /usr/bin/python3 -m pytest tests/functional/kernels
"""
import re

import pytest

from kernel_harness import (assert_pass, describe, is_qemu, kernel_path, require_cpl0_sse,
                            require_legacy_paging, run_kernel, software_int_works, uses_kvm)

SMP = [1, 2, 4]


@pytest.mark.parametrize('code', [0, 5, 0x42])
def test_hello(code):
    append = None if code == 0 else 'exitcode=%d' % code
    status, out = run_kernel('hello', append=append)
    assert 'Hello from kemu test kernel' in out, describe(status, out)
    assert_pass('hello', status, out, expect_status=(code << 1) | 1)


@pytest.mark.parametrize('code', [0, 3])
def test_aout_kludge(code):
    status, out = run_kernel('aout_kludge', append='exitcode=%d' % code)
    assert 'Hello from kemu test kernel' in out, describe(status, out)
    assert_pass('aout_kludge', status, out, expect_status=(code << 1) | 1)


@pytest.mark.parametrize('smp', SMP)
@pytest.mark.parametrize('name', ['mmio', 'pit_irq', 'lapic_timer', 'acpi', 'ports', 'memsize',
                                  'serial', 'rtc', 'pci', 'exceptions', 'hpet'])
def test_kernel(name, smp):
    status, out = run_kernel(name, smp=smp)
    assert_pass(name, status, out)


@pytest.mark.parametrize('smp', SMP)
def test_smp(smp):
    status, out = run_kernel('smp', smp=smp)
    assert_pass('smp', status, out)
    assert '%d CPUs up' % smp in out, describe(status, out)


def test_ports_debugcon(tmp_path):
    log = tmp_path / 'debugcon.txt'
    status, out = run_kernel('ports', append='debugcon=1', extra_args=[
        '-chardev', 'file,id=dbg,path=%s' % log, '-device', 'isa-debugcon,iobase=0xe9,chardev=dbg'])
    assert_pass('ports', status, out)
    assert 'ports: hello debugcon' in log.read_text(errors='replace'), describe(status, out)


@pytest.mark.parametrize('mem', [128, 256, 1024])
def test_memsize(mem):
    status, out = run_kernel('memsize', mem=mem, append='mem=%d' % mem)
    assert_pass('memsize', status, out)


def test_poweroff():
    status, out = run_kernel('poweroff')
    # An ACPI S5 poweroff ends the emulator with status 0, which isa-debug-exit cannot give.
    assert_pass('poweroff', status, out, expect_status=0)


@pytest.mark.parametrize('smp', [2, 4])
def test_poweroff_smp(smp):
    status, out = run_kernel('poweroff', smp=smp)
    assert_pass('poweroff', status, out, expect_status=0)


def test_multiboot_info(tmp_path):
    m1 = tmp_path / 'mod1.txt'
    m1.write_bytes(b'first module\n')
    m2 = tmp_path / 'mod2.bin'
    m2.write_bytes(bytes(range(256)) * 20 + b'tail')
    initrd = '%s arg1 arg2,%s' % (m1, m2)
    status, out = run_kernel('multiboot_info', append='mods=2 hello=world', initrd=initrd)
    assert_pass('multiboot_info', status, out)
    cmdline = [l for l in out.splitlines() if l.startswith('cmdline: ')]
    assert cmdline and cmdline[0].endswith('mods=2 hello=world'), describe(status, out)
    for i, (path, string) in enumerate([(m1, '%s arg1 arg2' % m1), (m2, str(m2))]):
        data = path.read_bytes()
        m = re.search(r'^module %d: start 0x[0-9a-f]+ end 0x[0-9a-f]+ size (\d+) string "(.*)" '
                      r'bytes((?: [0-9a-f]{2})*)$' % i, out, re.M)
        assert m, describe(status, out)
        assert int(m.group(1)) == len(data), describe(status, out)
        assert m.group(2) == string, describe(status, out)
        assert bytes.fromhex(m.group(3)) == data[:16], describe(status, out)


def test_multiboot_no_modules():
    status, out = run_kernel('multiboot_info', append='mods=0')
    assert_pass('multiboot_info', status, out)


def check_bzimage_output(status, out, cmdline, initrd_data, paths=(32, 64)):
    assert_pass('bzimage', status, out)
    m = re.search(r'^fake-bzImage: entered through the (\d+)-bit entry point$', out, re.M)
    assert m and int(m.group(1)) in paths, describe(status, out)
    assert ('cmdline: "%s"' % cmdline) in out.splitlines(), describe(status, out)
    m = re.search(r'^ramdisk_image 0x[0-9a-f]+ ramdisk_size (\d+)$', out, re.M)
    assert m, describe(status, out)
    assert int(m.group(1)) == (len(initrd_data) if initrd_data is not None else 0), \
        describe(status, out)
    if initrd_data:
        m = re.search(r'^initrd bytes:((?: [0-9a-f]{2})*)$', out, re.M)
        assert m and bytes.fromhex(m.group(1)) == initrd_data[:16], describe(status, out)
    m = re.search(r'^e820_entries (\d+)$', out, re.M)
    assert m and int(m.group(1)) >= 2, describe(status, out)
    assert re.search(r'^e820: \[0x0000000000100000-0x[0-9a-f]+\] type 1$', out, re.M), \
        describe(status, out)
    return out


@pytest.mark.parametrize('smp', SMP)
def test_bzimage(tmp_path, smp):
    """Direct Linux boot of the fake bzImage (kemu: boot protocol, 32 or 64-bit entry;
    QEMU: linuxboot option ROM + the image's real-mode setup, 32-bit entry)."""
    initrd = tmp_path / 'initrd.img'
    initrd.write_bytes(bytes(range(7, 250)) * 3)
    cmdline = 'console=ttyS0 kemu.test=1 quoted="a b" end'
    status, out = run_kernel('bzimage', append=cmdline, initrd=str(initrd), smp=smp)
    check_bzimage_output(status, out, cmdline, initrd.read_bytes())


def test_bzimage_no_initrd():
    status, out = run_kernel('bzimage', append='just a command line')
    check_bzimage_output(status, out, 'just a command line', None)


@pytest.mark.parametrize('path', [32, 64])
def test_bzimage_via_bzboot(tmp_path, path):
    """bzboot (a multiboot kernel) loads the fake bzImage by the boot protocol and enters it
    through startup_32 or startup_64: checks both entry points under any emulator."""
    initrd = tmp_path / 'initrd.img'
    initrd.write_bytes(b'\x1f\x8b' + bytes(range(200)))
    modules = '%s console=ttyS0 via=bzboot,%s' % (kernel_path('bzimage'), initrd)
    status, out = run_kernel('bzboot', append='path=%d' % path, initrd=modules)
    check_bzimage_output(status, out, 'console=ttyS0 via=bzboot', initrd.read_bytes(),
                         paths=(path,))


def test_unhandled_exception_fails():
    """The runtime's failure path: an unexpected #UD prints a FAIL line and exits with code 2
    (EXIT_EXCEPTION), i.e. VM status 5."""
    status, out = run_kernel('exceptions', append='unhandled=1')
    assert re.search(r'^exception 6 #UD error=0x0 eip=0x[0-9a-f]{8}', out, re.M), \
        describe(status, out)
    assert re.search(r'^FAIL exceptions: unexpected exception 6 \(#UD\)', out, re.M), \
        describe(status, out)
    assert status == 5, describe(status, out)


@pytest.mark.parametrize('pae', [0, 1])
def test_paging(pae):
    require_legacy_paging()
    status, out = run_kernel('paging', append='pae=%d' % pae)
    assert_pass('paging', status, out)


@pytest.mark.parametrize('smp', SMP)
def test_realmode(smp):
    # Under kvm-pvm the real-mode INT n check is left out (it hangs there); everything else,
    # including a hardware interrupt through the IVT, still runs.
    append = None if software_int_works() else 'softint=0'
    status, out = run_kernel('realmode', append=append, smp=smp)
    assert_pass('realmode', status, out)


def test_fpu_sse():
    require_cpl0_sse()
    # QEMU 7.2's TCG never raises #XM (SIMD exceptions); the reference run leaves that out.
    append = 'xm=0' if is_qemu() and not uses_kvm() else None
    status, out = run_kernel('fpu_sse', append=append)
    assert_pass('fpu_sse', status, out)
