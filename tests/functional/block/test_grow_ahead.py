"""Grow-ahead of a qcow2 image file opened with O_DIRECT (block/file-posix.c): while the image
is open its file is extended in fallocated steps ahead of the allocating writes, and close
truncates it back, so the file a user finds afterwards is the one qemu-img/qemu-io would have
left.  After a crash the file keeps a tail of zeroes that no cluster refers to: the image must
still be clean for Debian's qemu-img and usable by kemu again.
"""
import json
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import run

CL = 65536


def _size(path):
    return os.stat(path).st_size


@pytest.mark.parametrize('aio', ['threads', 'native', 'io_uring'])
@pytest.mark.parametrize('size,step', [('64k', '64k'), ('4k', str(3 * CL + 8192))])
def test_file_after_close_as_qemu_leaves_it(kemu_img, qemu_img, qemu_io, tmp_path, aio, size,
                                            step):
    """The same allocating bench run through kemu-img and qemu-img: afterwards both files
    have the same length (no preallocated tail left behind), both images are clean and read
    the same."""
    files = {}
    for name, tool in (('kemu', kemu_img), ('qemu', qemu_img)):
        img = tmp_path / f'{name}.qcow2'
        assert run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '256M')[0] == 0
        rc, out, err = run(tool, 'bench', '-w', '-t', 'none', '-i', aio, '-d', '32', '-c',
                           '700', '-s', size, '-S', step, '--pattern=0x5e', '-f', 'qcow2', img)
        assert rc == 0, out + err
        rc, out, err = run(qemu_img, 'check', img)
        assert rc == 0, out + err
        files[name] = img
    assert _size(files['kemu']) == _size(files['qemu'])
    rc, out, err = run(qemu_img, 'compare', files['kemu'], files['qemu'])
    assert rc == 0, out + err


def _start_kemu_io(kemu_io, img, *opts):
    return subprocess.Popen([kemu_io, *opts, str(img)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _command(p, cmd):
    """Send one I/O command to an interactive kemu-io and wait for its timing line."""
    p.stdin.write((cmd + '\n').encode())
    p.stdin.flush()
    out = b''
    deadline = time.monotonic() + 60
    while b' ops; ' not in out:
        left = deadline - time.monotonic()
        ready = select.select([p.stdout], [], [], max(left, 0))[0]
        chunk = os.read(p.stdout.fileno(), 4096) if ready else b''
        assert chunk, f'{cmd}: no result from kemu-io: {out.decode()}'
        out += chunk
    assert b'wrote' in out or b'read' in out, out.decode()


def _quit(p):
    p.stdin.write(b'quit\n')
    p.stdin.close()
    p.wait(timeout=60)
    assert p.returncode == 0, p.stdout.read().decode()


def test_file_grows_ahead_while_open_and_shrinks_on_close(kemu_io, qemu_img, qemu_io,
                                                          tmp_path):
    """While kemu-io has the image open with cache=none, an allocating write makes the file
    much longer than its data (what keeps concurrent allocating writes from being serialised
    by the host file system); the image stays consistent for a reader meanwhile, and quitting
    leaves the file at the length of its data."""
    img = tmp_path / 'g.qcow2'
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1G')[0] == 0
    p = _start_kemu_io(kemu_io, img, '-t', 'none')
    try:
        _command(p, f'write -P 0x42 0 {CL}')
        _command(p, f'write -P 0x43 {10 * CL} 4096')
        _command(p, f'write -f -P 0x44 {20 * CL} {CL}')
        grown = _size(img)
        assert grown >= 16 << 20, f'file not grown ahead: {grown} bytes'
        # A reader sharing the open image (as qemu-img -U) sees consistent metadata.
        rc, out, err = run(qemu_io, '-r', '-U', '-c', f'read -P 0x44 {20 * CL} {CL}', img)
        assert rc == 0 and 'verification failed' not in out, out + err
    finally:
        _quit(p)
    rc, out, err = run(qemu_img, 'check', '--output=json', img)
    assert rc == 0, out + err
    end = json.loads(out)['image-end-offset']
    assert _size(img) == end, f'file {_size(img)} bytes, data ends at {end}'
    rc, out, err = run(qemu_io, '-r', '-c', f'read -P 0x42 0 {CL}',
                       '-c', f'read -P 0x43 {10 * CL} 4096',
                       '-c', f'read -P 0 {10 * CL + 4096} {CL - 4096}',
                       '-c', f'read -P 0x44 {20 * CL} {CL}', img)
    assert rc == 0 and 'verification failed' not in out, out + err


def test_kill9_leaves_a_zero_tail_that_is_reused(kemu_img, kemu_io, qemu_img, qemu_io,
                                                  tmp_path):
    """kill -9 of an O_DIRECT writer leaves the file longer than its data: qemu-img check is
    clean; kemu reopens it, allocates into the tail, and on close the file ends at its data
    again with every flushed byte in place."""
    img = tmp_path / 'k.qcow2'
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1G')[0] == 0
    p = _start_kemu_io(kemu_io, img, '-t', 'none')
    _command(p, f'write -f -P 0x61 0 {4 * CL}')
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    crashed = _size(img)
    assert crashed >= 16 << 20, f'no tail after the crash: {crashed} bytes'
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err
    rc, out, err = run(kemu_img, 'bench', '-w', '-t', 'none', '-i', 'threads', '-d', '32',
                       '-c', '300', '-s', '64k', '-S', '64k', '-o', str(8 * CL),
                       '--pattern=0x62', '-f', 'qcow2', img)
    assert rc == 0, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err
    # The new clusters went into the tail rather than past it.
    assert _size(img) <= crashed, (_size(img), crashed)
    rc, out, err = run(qemu_io, '-r', '-c', f'read -P 0x61 0 {4 * CL}',
                       '-c', f'read -P 0 {4 * CL} {4 * CL}',
                       '-c', f'read -P 0x62 {8 * CL} {300 * CL}', img)
    assert rc == 0 and 'verification failed' not in out, out + err


def test_buffered_writes_do_not_grow_ahead(kemu_io, qemu_img, tmp_path):
    """Without cache=none extending writes cost the host nothing special, and the file is
    never longer than its data, even while open."""
    img = tmp_path / 'b.qcow2'
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1G')[0] == 0
    p = _start_kemu_io(kemu_io, img)
    try:
        _command(p, f'write -P 0x42 0 {CL}')
        assert _size(img) < 1 << 20
    finally:
        _quit(p)
