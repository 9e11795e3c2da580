"""Crash consistency: kill -9 a kemu-io writer at random points during an allocating write
workload (FUA writes, so every acknowledged write has been flushed).  Afterwards Debian's
`qemu-img check` must find no corruption (leaks are allowed) and every acknowledged write
must read back through qemu-io."""
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import run

SLOT = 64 * 1024
SIZE = 2 * 1024 * 1024 * 1024


def wait_progress(out_path, writes, deadline):
    """Until out_path reports `writes` acknowledged writes, or the deadline passes."""
    while time.monotonic() < deadline:
        if out_path.read_text().count('wrote ') >= writes:
            return
        time.sleep(0.002)


@pytest.mark.parametrize('cluster,lazy,cache', [('4k', False, 'writeback'),
                                                ('64k', False, 'writeback'),
                                                ('64k', True, 'writeback'),
                                                ('64k', False, 'none')])
def test_kill9_during_allocating_writes(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path,
                                        cluster, lazy, cache):
    """(cache=none: the file grows ahead of the writes in fallocated steps, so a crash also
    leaves a tail of zeroes past the data.)"""
    img = str(tmp_path / 'crash.qcow2')
    rc, out, err = run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o',
                       f'cluster_size={cluster},lazy_refcounts={"on" if lazy else "off"}',
                       img, str(SIZE))
    assert rc == 0, err
    rnd = random.Random((4321 if cluster == '4k' else 8765) + lazy + (cache == 'none') * 7)
    slots = list(range(SIZE // SLOT))
    rnd.shuffle(slots)
    acked = {}      # offset -> (pattern, length)
    for iteration in range(11):
        planned = {}
        cmds = []
        for i in range(1500):
            if not slots:
                break
            slot = slots.pop()
            off = slot * SLOT + rnd.randrange(0, SLOT // 2)
            ln = rnd.randrange(1, SLOT // 2)
            pattern = rnd.randrange(1, 256)
            planned[off] = (pattern, ln)
            cmds.append(f'write -f -P {pattern} {off} {ln}')
            if i % 7 == 0:
                cmds.append('flush')
        script = tmp_path / 'script.txt'
        script.write_text('\n'.join(cmds) + '\n')
        out_path = tmp_path / 'out.txt'
        # Files, not pipes: a writer blocked on a full pipe would never be killed mid-write.
        with open(script) as fin, open(out_path, 'w') as fout:
            p = subprocess.Popen([kemu_io, '-t', cache, img], stdin=fin, stdout=fout,
                                 stderr=subprocess.DEVNULL)
            # Kill after a random number of acknowledged writes (kemu-io's output is line
            # buffered) plus a random delay, so the kill point is random in the workload
            # however fast the machine runs it.
            wait_progress(out_path, rnd.randrange(1, 40), deadline=time.monotonic() + 30)
            time.sleep(rnd.uniform(0, 0.03))
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=60)
        out = out_path.read_text()
        assert p.returncode == -signal.SIGKILL, 'writer finished before being killed'
        for line in out.splitlines():
            if line.startswith('wrote '):
                off = int(line.rsplit(' ', 1)[1])
                acked[off] = planned[off]
        if lazy:
            # Lazy refcounts: the image is left dirty and its refcounts may lag; opening
            # it read-write repairs them (as QEMU does) and leaves it clean.
            info = run(qemu_img, 'info', '--output=json', img)[1]
            assert '"dirty-flag": true' in info or '"dirty-flag": false' in info
            rc, out, err = run(kemu_io, '-c', 'flush', img)
            assert rc == 0, out + err
            assert '"dirty-flag": false' in run(qemu_img, 'info', '--output=json', img)[1]
        rc, out, err = run(qemu_img, 'check', img)
        assert rc in ((0,) if lazy else (0, 3)), f'iteration {iteration}: rc={rc}\n{out}{err}'
        assert 'ERROR' not in err
        # Every acknowledged (flushed) write reads back.
        items = sorted(acked.items())
        for k in range(0, len(items), 500):
            args = []
            for off, (pattern, ln) in items[k:k + 500]:
                args += ['-c', f'read -q -P {pattern} {off} {ln}']
            rc, out, err = run(qemu_io, '-r', *args, img)
            assert 'verification failed' not in out, f'iteration {iteration}: {out}'
            assert rc == 0, out + err
    assert len(acked) > 100


@pytest.mark.parametrize('size', ['4k', '64k'])
def test_kill9_during_fast_path_allocations(kemu_img, qemu_img, tmp_path, size):
    """kill -9 during 32-deep aio=native writes into a fresh image (overwrites on the kernel
    AIO fast path, allocations in the pool into space the file grew ahead, flushes every 32
    requests): the image stays consistent (leaks allowed) and every byte reads as the
    written pattern or as zero, never anything else."""
    img = str(tmp_path / 'fast.qcow2')
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '64M')[0] == 0
    rnd = random.Random(97 if size == '4k' else 98)
    for iteration in range(8):
        # Offsets stay multiples of the request size, so no request crosses the end of
        # the image (bench would stop with EIO there).
        unit = 4096 if size == '4k' else 65536
        step = str(unit * rnd.choice([49, 17, 3]))
        p = subprocess.Popen([kemu_img, 'bench', '-w', '-t', 'none', '-i', 'native', '-d', '32',
                              '-c', '1000000', '-s', size, '-S', step, '-o',
                              str(rnd.randrange(0, 64) * unit), '--flush-interval=32',
                              '--pattern=0x3c', '-f', 'qcow2', img],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.05, 0.3))
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
        rc, out, err = run(qemu_img, 'check', img)
        assert rc in (0, 3), f'iteration {iteration}: rc={rc}\n{out}{err}'
        assert 'ERROR' not in err
    raw = str(tmp_path / 'fast.raw')
    assert run(qemu_img, 'convert', '-O', 'raw', img, raw)[0] == 0
    data = open(raw, 'rb').read()
    assert set(data) <= {0, 0x3c}, 'bytes other than the pattern or zero'
    assert data.count(0x3c) > 0
