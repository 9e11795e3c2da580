"""aio=native / io_uring fast path: qcow2 data requests that need no metadata work go straight
to the kernel, everything else through the worker pool, and the two mix safely.

Each test checks the image afterwards with Debian's qemu-img/qemu-io: the bytes a reader sees
and a clean `qemu-img check`.
"""
import os
import shutil
import subprocess

import pytest

from conftest import run

CL = 65536


def _qcow2_with_holes(qemu_img, qemu_io, path, size_mb=64):
    """Every other 64 KiB cluster allocated with pattern 0x11, the rest unallocated."""
    run(qemu_img, 'create', '-q', '-f', 'qcow2', path, f'{size_mb}M')
    cmds = []
    for i in range(0, size_mb * 16, 2):
        cmds += ['-c', f'write -q -P 0x11 {i * CL} {CL}']
    rc, out, err = run(qemu_io, *cmds, path)
    assert rc == 0, out + err


@pytest.mark.parametrize('aio', ['native', 'io_uring'])
def test_mixed_overwrites_and_allocations(kemu_io, qemu_img, qemu_io, tmp_path, aio):
    img = tmp_path / 'm.qcow2'
    _qcow2_with_holes(qemu_img, qemu_io, img, 8)
    cmds = []
    # In-place overwrites of allocated clusters (fast path), allocating writes into the holes
    # (worker pool), and requests spanning an allocated and an unallocated cluster, all in
    # flight together.
    for i in range(0, 128, 2):
        cmds += ['-c', f'aio_write -q -P {i % 200 + 1} {i * CL + 4096} 8192']
        cmds += ['-c', f'aio_write -q -P {i % 200 + 2} {(i + 1) * CL} 4096']
    cmds += ['-c', f'aio_write -q -P 0x77 {3 * CL - 4096} 8192', '-c', 'aio_flush']
    for i in range(0, 126, 2):
        cmds += ['-c', f'aio_read -q -P {i % 200 + 1} {i * CL + 4096} 8192']
    cmds += ['-c', 'aio_flush']
    rc, out, err = run(kemu_io, '-t', 'none', '-i', aio, *cmds, img)
    assert rc == 0, out + err
    checks = []
    for i in range(0, 126, 2):
        tail = CL - 12288 - (4096 if i == 2 else 0)     # cluster 2 ends with the 0x77 write
        checks += ['-c', f'read -q -P 0x11 {i * CL} 4096',
                   '-c', f'read -q -P {i % 200 + 1} {i * CL + 4096} 8192',
                   '-c', f'read -q -P 0x11 {i * CL + 12288} {tail}']
        if i != 2:
            checks += ['-c', f'read -q -P {i % 200 + 2} {(i + 1) * CL} 4096']
        checks += ['-c', f'read -q -P 0 {(i + 1) * CL + 4096} {CL - 4096}']
    checks += ['-c', f'read -q -P 0x77 {3 * CL - 4096} 4096']
    rc, out, err = run(qemu_io, '-r', *checks, img)
    assert rc == 0 and 'verification failed' not in out, out + err
    # The 0x77 write and pattern 4's write of cluster 3 overlap and were in flight together,
    # which (as on a real disk) leaves either one's data there: never a mix, never zeroes.
    seen = [p for p in (0x77, 4) if 'verification failed' not in
            run(qemu_io, '-r', '-c', f'read -q -P {p} {3 * CL} 4096', img)[1]]
    assert len(seen) == 1, seen
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err


def test_native_requests_reach_the_kernel(kemu_io, qemu_img, qemu_io, tmp_path):
    """Reads of allocated qcow2 clusters with aio=native are io_submit calls, not pool work."""
    strace = shutil.which('strace')
    if not strace:
        pytest.fail('strace is required (scripts/install-deps.sh --test installs it)')
    img = tmp_path / 'k.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '4M')
    run(qemu_io, '-c', 'write -q -P 0x5a 0 4M', img)
    cmds = ['-c', 'read -q -P 0x5a 0 512']      # loads the L2 table (synchronously)
    for i in range(40):
        cmds += ['-c', f'aio_read -q -P 0x5a {i * 65536} 4096']
    cmds += ['-c', 'aio_flush']
    p = subprocess.run([strace, '-f', '-e', 'trace=io_submit', '-o', str(tmp_path / 'trace'),
                        kemu_io, '-r', '-t', 'none', '-i', 'native', *cmds, str(img)],
                       capture_output=True, text=True, timeout=120,
                       # LeakSanitizer cannot run under ptrace (sanitizer builds).
                       env=dict(os.environ, ASAN_OPTIONS='detect_leaks=0'))
    assert p.returncode == 0, p.stdout + p.stderr
    submits = [line for line in open(tmp_path / 'trace') if 'io_submit(' in line]
    assert len(submits) >= 40, ''.join(submits)


@pytest.mark.parametrize('aio', ['native', 'io_uring'])
def test_sync_discard_after_aio_write(kemu_io, qemu_img, qemu_io, tmp_path, aio):
    """A synchronous discard issued while fast-path writes are in flight waits for them (no
    hang, no write landing in a cluster that was freed meanwhile).  (Requests that went to the
    worker pool instead have no defined order against a later synchronous call, as in QEMU: a
    first synchronous read loads the L2 table so that every write here takes the fast path.)"""
    img = tmp_path / 'd.qcow2'
    _qcow2_with_holes(qemu_img, qemu_io, img, 4)
    cmds = ['-c', 'read -q -P 0x11 0 512']
    for i in range(0, 64, 2):
        cmds += ['-c', f'aio_write -q -P 0x22 {i * CL} {CL}']
    cmds += ['-c', f'discard -q 0 {16 * CL}', '-c', f'write -q -P 0x33 {16 * CL} {CL}',
             '-c', 'aio_flush']
    rc, out, err = run(kemu_io, '-t', 'none', '-i', aio, '-d', 'unmap', *cmds, img)
    assert rc == 0, out + err
    rc, out, err = run(qemu_io, '-r', '-c', f'read -q -P 0 0 {16 * CL}',
                       '-c', f'read -q -P 0x33 {16 * CL} {CL}',
                       '-c', f'read -q -P 0x22 {18 * CL} {CL}', img)
    assert rc == 0 and 'verification failed' not in out, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err


@pytest.mark.parametrize('aio', ['native', 'io_uring', 'threads'])
def test_bench_concurrent_writes_then_check(kemu_img, qemu_img, qemu_io, tmp_path, aio):
    """32 writes in flight over a half-allocated image: overwrites on the fast path race with
    allocations in the pool; the result must be exactly the pattern and a clean image."""
    img = tmp_path / 'b.qcow2'
    _qcow2_with_holes(qemu_img, qemu_io, img, 16)
    rc, out, err = run(kemu_img, 'bench', '-w', '-t', 'none', '-i', aio, '-d', '32', '-c', '256',
                       '-s', '64k', '-S', '64k', '--pattern=0x44', '-f', 'qcow2', img)
    assert rc == 0, out + err
    rc, out, err = run(qemu_io, '-r', '-c', 'read -q -P 0x44 0 16M', img)
    assert rc == 0 and 'verification failed' not in out, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err


@pytest.mark.parametrize('aio', ['native', 'threads'])
def test_bench_flush_interval_drains_inside_callbacks(kemu_img, tmp_path, aio):
    """bench --flush-interval: the queue is drained before each flush, from completion
    callbacks (this used to hang)."""
    img = tmp_path / 'f.raw'
    run(kemu_img, 'create', '-q', '-f', 'raw', img, '16M')
    rc, out, err = run(kemu_img, 'bench', '-w', '-t', 'none', '-i', aio, '-d', '8', '-c', '512',
                       '--flush-interval=8', '-f', 'raw', img)
    assert rc == 0 and 'Run completed' in out, out + err


def _writes_between_flushes(strace, tool, img, count, tmp_path):
    """Run a 64 KiB write bench with --flush-interval=32 under strace: the number of data
    writes before each flush."""
    trace = tmp_path / 'trace'
    p = subprocess.run([strace, '-f', '-e', 'trace=pwritev,pwrite64,fdatasync', '-o', str(trace),
                        tool, 'bench', '-w', '-t', 'none', '-i', 'threads', '-d', '32',
                        '-c', str(count), '-s', '64k', '--flush-interval=32', '--pattern=0x7',
                        '-f', 'raw', str(img)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, ASAN_OPTIONS='detect_leaks=0'))  # (no LSan under ptrace)
    assert p.returncode == 0, p.stderr
    gaps, writes = [], 0
    for line in open(trace):
        if 'resumed' in line:
            continue
        if 'fdatasync(' in line:
            gaps.append(writes)
            writes = 0
        elif 'pwrite' in line and '"\\7\\7' in line:
            writes += 1
    return gaps


@pytest.mark.parametrize('count', [320, 330])
def test_bench_flush_interval_writes_between_flushes(kemu_img, qemu_img, tmp_path, count):
    """As qemu-img documents --flush-interval: whenever the number of requests still to send
    is a multiple of the interval, the queue is drained and a flush issued before new writes
    are made, so the writes come in batches of flush_interval between flushes, as qemu-img's
    do (a drain that let completions send new requests flushed only at the end).  (kemu-img
    flushes once more when it closes the image.)"""
    strace = shutil.which('strace')
    if not strace:
        pytest.fail('strace is required (scripts/install-deps.sh --test installs it)')
    img = tmp_path / 'f.raw'
    run(qemu_img, 'create', '-q', '-f', 'raw', img, '64M')
    want = _writes_between_flushes(strace, qemu_img, img, count, tmp_path)
    got = _writes_between_flushes(strace, kemu_img, img, count, tmp_path)
    assert len(want) == 10 and sum(want) == count, want
    assert got[:len(want)] == want, (got, want)


@pytest.mark.parametrize('aio', ['native', 'io_uring'])
def test_partial_writes_into_new_clusters(kemu_img, qemu_img, qemu_io, tmp_path, aio):
    """4 KiB writes into empty clusters of a fresh image (allocated at the end of the file,
    where it grows ahead of them into fallocated space whose zeroes need no writing): the
    written bytes read back, the rest of each cluster reads zero."""
    img = tmp_path / 'n.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '64M')
    step = CL * 3 + 8192            # a different offset within each cluster
    rc, out, err = run(kemu_img, 'bench', '-w', '-t', 'none', '-i', aio, '-d', '32', '-c', '300',
                       '-s', '4k', '-S', str(step), '--pattern=0x66', '-f', 'qcow2', img)
    assert rc == 0, out + err
    checks = []
    for i in range(300):
        off = (i * step) % (64 << 20)
        checks += ['-c', f'read -q -P 0x66 {off} 4096']
        start = off - off % CL
        if off > start:
            checks += ['-c', f'read -q -P 0 {start} {off - start}']
        end = off + 4096
        if end % CL:
            checks += ['-c', f'read -q -P 0 {end} {CL - end % CL}']
    rc, out, err = run(qemu_io, '-r', *checks, img)
    assert rc == 0 and 'verification failed' not in out, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err


def _free_first_clusters(path, n):
    """Unlink the first n guest clusters and drop their host clusters' refcounts to 0 by hand,
    so the file keeps their old bytes in clusters that are free (a consistent image; a
    repair by qemu-img would punch holes there instead)."""
    import struct
    with open(path, 'r+b') as f:
        hdr = f.read(104)
        l1_offset = struct.unpack('>Q', hdr[40:48])[0]
        reftable = struct.unpack('>Q', hdr[48:56])[0]
        assert struct.unpack('>I', hdr[96:100])[0] == 4, 'expects 16-bit refcounts'
        f.seek(l1_offset)
        l2_offset = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
        f.seek(l2_offset)
        entries = [struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00 for _ in range(n)]
        f.seek(l2_offset)
        f.write(bytes(8 * n))
        f.seek(reftable)
        refblock = struct.unpack('>Q', f.read(8))[0]
        for host in entries:
            f.seek(refblock + 2 * (host // CL))
            f.write(bytes(2))


def test_partial_writes_into_reused_clusters(kemu_io, qemu_img, qemu_io, tmp_path):
    """Free clusters inside the file that still hold old bytes are reused: a partial write
    there must not leave the old bytes visible around it (zeroing is skipped only past the
    end of the file's data)."""
    img = tmp_path / 'r.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '8M')
    run(qemu_io, '-c', 'write -q -P 0x99 0 8M', img)
    _free_first_clusters(img, 64)
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err
    # The first write (synchronous) loads the metadata; the rest can take the fast path.
    cmds = ['-c', f'write -q -P 0x55 8192 4096']
    for i in range(1, 64):
        cmds += ['-c', f'aio_write -q -P 0x55 {i * CL + 8192} 4096']
    cmds += ['-c', 'aio_flush']
    rc, out, err = run(kemu_io, '-t', 'none', '-i', 'native', *cmds, img)
    assert rc == 0, out + err
    checks = []
    for i in range(64):
        checks += ['-c', f'read -q -P 0 {i * CL} 8192',
                   '-c', f'read -q -P 0x55 {i * CL + 8192} 4096',
                   '-c', f'read -q -P 0 {i * CL + 12288} {CL - 12288}']
    checks += ['-c', 'read -q -P 0x99 4M 4M']
    rc, out, err = run(qemu_io, '-r', *checks, img)
    assert rc == 0 and 'verification failed' not in out, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err
