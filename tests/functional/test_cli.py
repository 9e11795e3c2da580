"""Command-line behaviour of kemu-system-x86_64: help output, and bad input giving one
clear error line and exit status 1 (compared with Debian's QEMU where the text is shared)."""
import os
import signal
import subprocess
import tempfile
import time

import pytest

BASE = ['-display', 'none', '-nodefaults']


def run(binary, args, timeout=20):
    p = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_version(kemu):
    rc, out, _ = run(kemu, ['-version'])
    assert rc == 0
    assert out.startswith('kemu emulator version ')


def test_help_lists_options(kemu):
    rc, out, _ = run(kemu, ['-help'])
    assert rc == 0
    for opt in ('-machine', '-m ', '-smp', '-kernel', '-device', '-serial', '-nographic'):
        assert opt in out


def test_machine_help(kemu):
    rc, out, _ = run(kemu, ['-machine', 'help'])
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == 'Supported machines are:'
    assert ('pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)'
            in lines)
    assert 'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)' in lines


@pytest.mark.parametrize('dev', ['isa-debug-exit', 'isa-debugcon'])
def test_device_help_matches_qemu(kemu, qemu_ref, dev):
    rc, out, _ = run(kemu, ['-device', f'{dev},help'])
    rc_ref, ref, _ = run(qemu_ref, ['-device', f'{dev},help'])
    assert rc == 0 and rc_ref == 0
    assert out == ref


def test_device_list(kemu):
    rc, out, _ = run(kemu, ['-device', 'help'])
    assert rc == 0
    assert 'name "isa-debug-exit", bus ISA' in out


BAD = [
    (['-foo'], '-foo: invalid option'),
    (['-m', '0'], '-m 0: memory size must be greater than zero'),
    (['-m', 'abc'], "-m abc: Parameter 'size' expects a non-negative number below 2^64"),
    (['-m', '100T'], "cannot set up guest memory 'pc.ram': Cannot allocate memory"),
    (['-smp', '0'], 'Invalid CPU topology: CPU topology parameters must be greater than zero'),
    (['-smp', 'abc'], "Parameter 'smp.cpus' expects integer"),
    (['-smp', '300'], "Invalid SMP CPUs 300. The max CPUs supported by machine "
                      "'pc-i440fx-7.2' is 255"),
    (['-M', 'foo'], 'unsupported machine type'),
    (['-accel', 'foo'], '-accel foo: invalid accelerator foo'),
    (['-device', 'foo'], "-device foo: 'foo' is not a valid device model name"),
    (['-device', 'isa-debug-exit,bogus=1'],
     "-device isa-debug-exit,bogus=1: Property 'isa-debug-exit.bogus' not found"),
    (['-device', 'isa-debug-exit,iobase=zz'],
     "-device isa-debug-exit,iobase=zz: Parameter 'iobase' expects integer"),
    (['-serial', 'foo'], "-serial foo: 'foo' is not a valid char driver"),
    (['-chardev', 'file,id=x'], '-chardev file,id=x: chardev: file: no filename given'),
    (['-uuid', 'xyz'], '-uuid xyz: failed to parse UUID string: wrong format'),
    (['-display', 'foo'], "-display foo: Parameter 'type' does not accept value 'foo'"),
    (['-cpu', 'foo'], "unable to find CPU model 'foo'"),
    (['-kernel', '/nonexistent/vmlinuz'],
     "could not open kernel file '/nonexistent/vmlinuz': No such file or directory"),
    (['-machine', 'kernel-irqchip=maybe'],
     "-machine kernel-irqchip=maybe: Parameter 'kernel-irqchip' does not accept value 'maybe'"),
]


@pytest.mark.parametrize('args,msg', BAD, ids=[' '.join(a) for a, _ in BAD])
def test_bad_input(kemu, args, msg):
    rc, out, err = run(kemu, args + BASE)
    assert rc == 1, err
    first = err.splitlines()[0]
    assert first == f'kemu-system-x86_64: {msg}'


def test_garbage_kernel(kemu):
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(65536))
        f.flush()
        rc, _, err = run(kemu, ['-kernel', f.name] + BASE)
    assert rc == 1
    assert len(err.splitlines()) == 1
    assert 'invalid kernel header' in err


def test_empty_kernel(kemu):
    with tempfile.NamedTemporaryFile() as f:
        rc, _, err = run(kemu, ['-kernel', f.name] + BASE)
    assert rc == 1
    assert len(err.splitlines()) == 1


def test_sigterm_clean_exit_and_pidfile(kemu, kernels_dir):
    """-S holds the guest; SIGTERM ends the process with status 0 and removes the pid file."""
    with tempfile.TemporaryDirectory() as d:
        pidfile = os.path.join(d, 'kemu.pid')
        p = subprocess.Popen([kemu, '-S', '-pidfile', pidfile, '-kernel',
                              os.path.join(kernels_dir, 'hello.elf')] + BASE,
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if os.path.exists(pidfile) and open(pidfile).read().strip():
                break
            time.sleep(0.05)
        assert int(open(pidfile).read()) == p.pid
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        assert p.returncode == 0
        assert 'terminating on signal 15' in err
        assert not os.path.exists(pidfile)


def test_drive_options(kemu, kernels_dir, tmp_path):
    """-drive opens the image with QEMU's option checks; a drive no device model takes yet is
    an error naming the interface, an if=none drive nobody uses is a warning."""
    img = tmp_path / 'disk.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(img), '16M'], check=True)
    kernel = ['-kernel', os.path.join(kernels_dir, 'hello.elf')]
    rc, _, err = run(kemu, ['-drive', f'file={img},cache=bogus'] + BASE + kernel)
    assert (rc, err.splitlines()[0]) == (
        1, f'kemu-system-x86_64: -drive file={img},cache=bogus: invalid cache option')
    rc, _, err = run(kemu, ['-drive', 'file=/nonexistent.qcow2'] + BASE + kernel)
    assert rc == 1
    assert "Could not open '/nonexistent.qcow2': No such file or directory" in err
    rc, _, err = run(kemu, ['-drive', f'file={img},if=virtio'] + BASE + kernel)
    assert rc == 1
    assert 'machine type does not support if=virtio,bus=0,unit=0' in err
    p = subprocess.Popen([kemu, '-drive', f'file={img},if=none,id=d0', '-no-reboot',
                          '-device', 'isa-debug-exit,iobase=0xf4,iosize=4'] + BASE + kernel,
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 1  # the kernel ran and exited through isa-debug-exit
    assert f'warning: Orphaned drive without device: id=d0,file={img}' in err
