"""kemu-io commands added for scripts (write -s, reopen, sigraise, abort, help layout,
aio_write -z) against Debian's qemu-io 7.2: the same command lines on copies of the same
image must give the same exit code, stdout (timing lines aside), stderr (program name aside)
and image contents."""
import os
import shutil

import pytest

from conftest import run, untimed


def _norm(text):
    return text.replace('qemu-io:', 'kemu-io:')


@pytest.fixture
def workdir(qemu_img, tmp_path):
    d = tmp_path
    run(qemu_img, 'create', '-q', '-f', 'qcow2', d / 'base.qcow2', '1M')
    (d / 'src.bin').write_bytes(bytes((i * 7 + 3) % 251 for i in range(5000)))
    (d / 'empty.bin').write_bytes(b'')
    (d / 'adir').mkdir()
    return d


def both(kemu_io, qemu_io, d, args, fmt='qcow2'):
    """Run the same qemu-io arguments on two copies of base.qcow2; compare everything."""
    res = {}
    for name, tool in (('k', kemu_io), ('q', qemu_io)):
        img = d / f'{name}.qcow2'
        shutil.copy(d / 'base.qcow2', img)
        res[name] = run(tool, *args, img.name, cwd=d)
    (krc, kout, kerr), (qrc, qout, qerr) = res['k'], res['q']
    assert krc == qrc, (args, kout, kerr, qout, qerr)
    assert untimed(kout) == untimed(qout), args
    assert kerr == _norm(qerr), args
    rc, out, err = run('qemu-img', 'compare', d / 'k.qcow2', d / 'q.qcow2')
    assert rc == 0, (args, out, err)
    return krc, kout


CASES = [
    ['-c', 'write -s src.bin 0 4096', '-c', 'read -v 0 64'],
    ['-c', 'write -s src.bin 512 12k', '-c', 'read -v 512 12k'],
    ['-c', 'write -q -s src.bin 100 5000'],
    ['-c', 'write -c -s src.bin 0 64k', '-c', 'read -v 60k 100'],
    ['-c', 'write -f -s src.bin 64k 1000'],
    ['-c', 'write -s nonexist 0 4096'],
    ['-c', 'write -s empty.bin 0 4096'],
    ['-c', 'write -s adir 0 4096'],
    ['-c', 'write -s src.bin -P 1 0 4096'],
    ['-c', 'write -P 1 -s src.bin 0 4096'],
    ['-c', 'write -z -s src.bin 0 4096'],
    ['-c', 'write -z -P 1 0 4096'],
    ['-c', 'write -P 5 0 128k', '-c', 'aio_write -z 0 64k', '-c', 'aio_flush', '-c', 'map'],
    ['-c', 'write -P 5 0 128k', '-c', 'aio_write -z -u 64k 64k', '-c', 'aio_flush',
     '-c', 'read -P 0 64k 64k'],
    ['-c', 'aio_write -z 0 512 512'],
    ['-c', 'reopen -r', '-c', 'write 0 512', '-c', 'reopen -w', '-c', 'write -P 3 0 512',
     '-c', 'read -P 3 0 512'],
    ['-r', '-c', 'reopen -w', '-c', 'write -P 4 0 1'],
    ['-c', 'reopen -c none', '-c', 'write -P 6 4k 4k', '-c', 'info'],
    ['-c', 'reopen -c writethrough', '-c', 'reopen -c unsafe', '-c', 'reopen -c directsync',
     '-c', 'reopen -c writeback', '-c', 'write 0 1'],
    ['-c', 'reopen -c foo', '-c', 'write 0 1'],
    ['-c', 'reopen -r -w'],
    ['-c', 'reopen -w -w'],
    ['-c', 'reopen -o l2-cache-size=1M', '-c', 'write 0 1'],
    ['-c', 'reopen -o foo=1'],
    ['-c', 'reopen x'],
    ['-c', 'reopen -x'],
    ['-c', 'close', '-c', 'reopen'],
    ['-c', 'sigraise x'],
    ['-c', 'sigraise'],
    ['-c', 'sleep x'],
    ['-c', 'sleep 10', '-c', 'write 0 1'],
    # Request sizes: at most INT_MAX rounded down to 512 bytes, as qemu-io words each limit.
    ['-c', 'write 0 2147483137'], ['-c', 'write -z 0 3G'], ['-c', 'write -c 0 2147483137'],
    ['-c', 'write -z -n 0 3G'], ['-c', 'read 0 2147483137'], ['-c', 'read -v 0 3G'],
    ['-c', 'discard 0 3G'], ['-c', 'aio_write 0 2147483137'], ['-c', 'aio_read 0 3G'],
    ['-c', 'readv 0 2147483137'], ['-c', 'writev 0 2G'], ['-c', 'readv 0 1G 1G 1G'],
    # Numbers too large for int64 and numbers that are no size.
    ['-c', 'read 0 99999999999999999999'], ['-c', 'read 0 8E'], ['-c', 'read 16E 1'],
    ['-c', 'aio_read 0 0x10000000000000000'], ['-c', 'read 0 1x'], ['-c', 'read 0 1.5'],
    ['-c', 'read 0 1.k'], ['-c', 'alloc 0 99999999999999999999'],
    # Unknown options: getopt's message, then the command's usage line.
    ['-c', 'read -X 0 1'], ['-c', 'write -X 0 1'], ['-c', 'readv -X 0 1'],
    ['-c', 'writev -X 0 1'], ['-c', 'aio_read -X 0 1'], ['-c', 'aio_write -X 0 1'],
    ['-c', 'discard -X 0 1'], ['-c', 'truncate -X 1'], ['-c', 'open -X'],
    # Commands without extended help (kemu-io prints no extended help texts).
    ['-c', 'help sleep', '-c', 'help abort', '-c', 'help map', '-c', 'help close',
     '-c', 'help aio_flush', '-c', 'help truncate', '-c', 'help alloc', '-c', 'help nope'],
]


@pytest.mark.parametrize('args', CASES, ids=lambda a: ' | '.join(a))
def test_io_command(kemu_io, qemu_io, workdir, args):
    both(kemu_io, qemu_io, workdir, args)


@pytest.mark.parametrize('sig,rc', [('15', -15), ('9', -9), ('0', 0)])
def test_sigraise(kemu_io, qemu_io, workdir, sig, rc):
    import subprocess
    for tool in (kemu_io, qemu_io):
        img = workdir / 'base.qcow2'
        p = subprocess.run([tool, '-c', 'write -P 1 0 512', '-c', f'sigraise {sig}', img],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == rc, (tool, p.stderr)


def test_abort(kemu_io, qemu_io, workdir):
    import subprocess
    for tool in (kemu_io, qemu_io):
        p = subprocess.run([tool, '-c', 'abort', workdir / 'base.qcow2'], capture_output=True,
                           timeout=60)
        assert p.returncode == -6, tool


def test_help_lists_commands(kemu_io, qemu_io, workdir):
    """Every command qemu-io lists is listed the same way, except blkdebug's breakpoints
    (kemu has no blkdebug driver)."""
    img = workdir / 'base.qcow2'
    k = run(kemu_io, '-c', 'help', img)[1].splitlines()
    q = run(qemu_io, '-c', 'help', img)[1].splitlines()
    blkdebug = ('break ', 'remove_break ', 'resume ', 'wait_break ')
    assert k == [line for line in q if not line.startswith(blkdebug)]
