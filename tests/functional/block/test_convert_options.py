"""kemu-img convert's options against Debian's qemu-img 7.2 on the same inputs.

Each case runs both tools in the same directory (relative names, so messages match), then
compares exit codes, stdout and stderr (program name aside) and, when both succeed, the
resulting images (`qemu-img compare`, `qemu-img check`, and the allocation map where the
option is about allocation).
"""
import os
import struct
import time

import pytest

from conftest import run


def _norm(text):
    return text.replace('qemu-img:', 'kemu-img:').replace("'qemu-img --help'",
                                                         "'kemu-img --help'")


@pytest.fixture
def images(qemu_img, qemu_io, tmp_path):
    """a.qcow2: data, an internal snapshot 'snap1' of other data, zero clusters, holes;
    b.qcow2: a second source; raw.img: a raw source."""
    d = tmp_path
    a = d / 'a.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', a, '16M')
    run(qemu_io, '-c', 'write -P 1 0 1M', '-c', 'write -P 3 5M 300k', a)
    run(qemu_img, 'snapshot', '-c', 'snap1', a)
    run(qemu_io, '-c', 'write -P 2 0 1M', '-c', 'write -z 2M 1M', '-c', 'write -P 0 4M 64k',
        '-c', 'write -P 4 9M 2M', a)
    run(qemu_img, 'create', '-q', '-f', 'qcow2', d / 'b.qcow2', '4M')
    run(qemu_io, '-c', 'write -P 7 1M 1M', d / 'b.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'raw', d / 'raw.img', '3M')
    run(qemu_io, '-f', 'raw', '-c', 'write -P 9 1M 1M', d / 'raw.img')
    return d


def both(kemu_img, qemu_img, d, args, out=None):
    """Run convert with args (then the output name) through both tools."""
    res = {}
    for name, tool in (('k', kemu_img), ('q', qemu_img)):
        tail = [f'{name}.{out}'] if out else []
        if out and os.path.exists(d / f'{name}.{out}'):
            os.unlink(d / f'{name}.{out}')
        res[name] = run(tool, 'convert', *args, *tail, cwd=d)
    (krc, kout, kerr), (qrc, qout, qerr) = res['k'], res['q']
    assert (krc, kout, kerr) == (qrc, _norm(qout), _norm(qerr)), args
    return krc


ERRORS = [
    ['-m', '0', 'a.qcow2', 'o'],
    ['-m', '17', 'a.qcow2', 'o'],
    ['-m', 'abc', 'a.qcow2', 'o'],
    ['-m', '4', '-W', '-c', '-O', 'raw', 'a.qcow2', 'o'],
    ['-r', '-1', 'a.qcow2', 'o'],
    ['-r', 'abc', 'a.qcow2', 'o'],
    ['-l', 'snap1', 'a.qcow2', 'b.qcow2', 'o'],
    ['-l', 'nope', 'a.qcow2', 'o'],
    ['-l', 'snapshot.id=9', 'a.qcow2', 'o'],
    ['-l', 'snapshot.id=1,snapshot.name=other', 'a.qcow2', 'o'],
    ['-l', 'snapshot.foo=1', 'a.qcow2', 'o'],
    ['-l', 'snapshot.name=snap1,foo=1', 'a.qcow2', 'o'],
    ['-l', 'foo=bar', 'a.qcow2', 'o'],
    ['-l', 'snap1', '-f', 'raw', 'raw.img', 'o'],
    ['-C', '-c', '-O', 'qcow2', 'a.qcow2', 'o'],
    ['-C', '-S', '4k', 'a.qcow2', 'o'],
    ['-C', '-S', '0', 'a.qcow2', 'o'],
    ['-S', '1000', 'a.qcow2', 'o'],
    ['--image-opts', '-f', 'qcow2', 'driver=qcow2,file.filename=a.qcow2', 'o'],
    ['--image-opts', 'a.qcow2', 'o'],
    ['--image-opts', 'driver=nope,file.filename=a.qcow2', 'o'],
    ['--image-opts', 'driver=qcow2,file.filename=a.qcow2,foo=1', 'o'],
    ['--image-opts', 'driver=qcow2,file.filename=a.qcow2,file.foo=1', 'o'],
    ['--image-opts', 'driver=qcow2', 'o'],
    ['--image-opts', 'filename=a.qcow2', 'o'],
    ['--target-image-opts', '-O', 'raw', 'a.qcow2', 'o'],
    ['--target-image-opts', '-n', '-O', 'raw', 'a.qcow2', 'driver=raw,file.filename=o'],
    ['--target-is-zero', 'a.qcow2', 'o'],
    ['-n', '-O', 'raw', 'a.qcow2', 'raw.img'],
    ['-B', 'b.qcow2', '-O', 'qcow2', 'a.qcow2', 'o'],
    ['-B', 'b.qcow2', '-F', 'qcow2', '-O', 'raw', 'a.qcow2', 'o'],
    ['-B', 'nonexist', '-F', 'qcow2', '-O', 'qcow2', 'a.qcow2', 'o'],
    ['-c', '-O', 'raw', 'a.qcow2', 'o'],
    ['-O', 'foo', 'a.qcow2'],
    ['-O', 'foo', 'a.qcow2', 'o'],
    ['-x', 'a.qcow2', 'o'],
    ['--foo', 'a.qcow2', 'o'],
    ['a.qcow2', 'o', '-m'],
    ['-U', '-n', '-O', 'raw', 'a.qcow2', 'nonexist'],
]


@pytest.mark.parametrize('args', ERRORS, ids=lambda a: ' '.join(a))
def test_convert_errors(kemu_img, qemu_img, images, args):
    assert both(kemu_img, qemu_img, images, args) == 1
    assert not os.path.exists(images / 'o') or os.path.getsize(images / 'o') >= 0


def _map(qemu_img, img, fmt):
    rc, out, err = run(qemu_img, 'map', '-f', fmt, '--output=json', img)
    assert rc == 0, err
    # Host offsets differ between writers; the allocation shape must not.
    return [{k: v for k, v in e.items() if k != 'offset'} for e in __import__('json').loads(out)]


SUCCESS = [
    ([], 'raw', True),
    (['-m', '1'], 'qcow2', True),
    (['-m', '16'], 'qcow2', True),
    (['-m', '16', '-W'], 'qcow2', True),
    (['-W'], 'raw', True),
    (['-m', '3', '-W', '-c'], 'qcow2', False),
    (['-r', '0'], 'qcow2', True),
    (['-r', '1G'], 'raw', True),
    (['-C'], 'qcow2', True),
    (['-C', '-m', '8', '-W'], 'raw', True),
    (['-U'], 'qcow2', True),
    (['--salvage'], 'qcow2', True),
    (['-S', '0'], 'qcow2', True),
    (['-S', '0', '-m', '2', '-W'], 'raw', True),
    (['-S', '64k', '-m', '5'], 'qcow2', True),
    (['-l', 'snap1'], 'qcow2', True),
    (['-l', '1'], 'raw', True),
    (['-l', 'snapshot.id=1'], 'qcow2', True),
    (['-l', 'snapshot.name=snap1', '-m', '16', '-W'], 'qcow2', True),
    (['-l', 'snapshot.id=1,snapshot.name=snap1'], 'raw', True),
    (['-p', '-m', '1'], 'raw', True),
    (['-p'], 'qcow2', True),
    (['-q', '-p', '-W'], 'qcow2', True),
    (['-T', 'none', '-t', 'none', '-m', '16', '-W'], 'qcow2', True),
    (['-o', 'cluster_size=4k', '-m', '16', '-W'], 'qcow2', True),
]


@pytest.mark.parametrize('args,ofmt,same_map', SUCCESS, ids=lambda a: ' '.join(a)
                         if isinstance(a, list) else str(a))
def test_convert_options(kemu_img, qemu_img, images, args, ofmt, same_map):
    d = images
    assert both(kemu_img, qemu_img, d, ['-O', ofmt] + args + ['a.qcow2'], out=ofmt) == 0
    k, q = d / f'k.{ofmt}', d / f'q.{ofmt}'
    rc, out, err = run(qemu_img, 'compare', '-f', ofmt, '-F', ofmt, k, q)
    assert rc == 0, out + err
    if ofmt == 'qcow2':
        rc, out, err = run(qemu_img, 'check', k)
        assert rc == 0, out + err
    if same_map:
        assert _map(qemu_img, k, ofmt) == _map(qemu_img, q, ofmt), args


@pytest.mark.parametrize('args', [['-m', '16', '-W'], ['-m', '1'], ['-c', '-m', '4']])
def test_convert_multiple_sources(kemu_img, qemu_img, images, args):
    d = images
    srcs = ['a.qcow2', 'b.qcow2', '-f', 'qcow2']
    both(kemu_img, qemu_img, d, ['-O', 'qcow2'] + args + srcs, out='qcow2')
    rc, out, err = run(qemu_img, 'compare', d / 'k.qcow2', d / 'q.qcow2')
    assert rc == 0, out + err
    assert run(qemu_img, 'check', d / 'k.qcow2')[0] == 0


def test_convert_image_opts(kemu_img, qemu_img, images):
    d = images
    both(kemu_img, qemu_img, d, ['--image-opts', '-O', 'qcow2',
                                 'driver=qcow2,file.driver=file,file.filename=a.qcow2'],
         out='qcow2')
    assert run(qemu_img, 'compare', d / 'k.qcow2', d / 'q.qcow2')[0] == 0
    both(kemu_img, qemu_img, d, ['--image-opts', '-O', 'raw', 'file.filename=a.qcow2'],
         out='raw')
    assert run(qemu_img, 'compare', '-f', 'raw', '-F', 'raw', d / 'k.raw', d / 'q.raw')[0] == 0
    # --target-image-opts into existing targets.
    for name in ('kt.raw', 'qt.raw'):
        run(qemu_img, 'create', '-q', '-f', 'raw', d / name, '16M')
    for tool, name in ((kemu_img, 'kt.raw'), (qemu_img, 'qt.raw')):
        rc, out, err = run(tool, 'convert', '-n', '--target-image-opts', 'a.qcow2',
                           f'driver=raw,file.filename={name}', cwd=d)
        assert rc == 0, err
    assert run(qemu_img, 'compare', '-f', 'raw', '-F', 'raw', d / 'kt.raw', d / 'qt.raw')[0] == 0


def test_convert_snapshot_leaves_source(kemu_img, qemu_img, images):
    d = images
    before = (d / 'a.qcow2').read_bytes()
    rc, out, err = run(kemu_img, 'convert', '-l', 'snap1', '-O', 'raw', 'a.qcow2', 'k.raw', cwd=d)
    assert rc == 0, err
    assert (d / 'a.qcow2').read_bytes() == before
    assert not [f for f in os.listdir(d) if f.startswith('.kemu-img')]
    run(qemu_img, 'convert', '-l', 'snap1', '-O', 'raw', 'a.qcow2', 'q.raw', cwd=d)
    assert (d / 'k.raw').read_bytes() == (d / 'q.raw').read_bytes()


def _corrupt_compressed(qemu_img, qemu_io, path):
    """A qcow2 whose first (compressed) cluster fails to decompress."""
    run(qemu_img, 'create', '-q', '-f', 'qcow2', path, '1M')
    run(qemu_io, '-c', 'write -c -P 7 0 64k', '-c', 'write -c -P 8 64k 64k',
        '-c', 'write -P 9 128k 64k', path)
    with open(path, 'r+b') as f:
        hdr = f.read(104)
        l1 = struct.unpack('>Q', hdr[40:48])[0]
        f.seek(l1)
        l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
        f.seek(l2)
        entry = struct.unpack('>Q', f.read(8))[0]
        off = entry & ((1 << 54) - 1)     # 64k clusters: 62 - (16 - 8) offset bits
        f.seek(off)
        f.write(b'\xff' * 64)


@pytest.mark.parametrize('args', [['--salvage'], [], ['--salvage', '-q'],
                                  ['--salvage', '-m', '16', '-W']])
def test_convert_salvage(kemu_img, qemu_img, qemu_io, tmp_path, args):
    d = tmp_path
    _corrupt_compressed(qemu_img, qemu_io, d / 'bad.qcow2')
    rc = both(kemu_img, qemu_img, d, ['-O', 'raw'] + args + ['bad.qcow2'], out='raw')
    if rc == 0:
        assert (d / 'k.raw').read_bytes() == (d / 'q.raw').read_bytes()


def test_convert_rate_limit(kemu_img, qemu_img, qemu_io, tmp_path):
    d = tmp_path
    src = d / 's.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', src, '8M')
    run(qemu_io, '-c', 'write -P 3 0 4M', src)
    times = {}
    for name, tool in (('k', kemu_img), ('q', qemu_img)):
        t = time.monotonic()
        rc, out, err = run(tool, 'convert', '-r', '4M', '-O', 'raw', src, d / f'{name}.raw')
        times[name] = time.monotonic() - t
        assert rc == 0, err
    # Two 2 MiB chunks at 4 MiB/s: the second waits ~0.5 s (qemu-img alike).
    assert times['k'] >= 0.4, times
    assert times['q'] >= 0.4, times
    assert (d / 'k.raw').read_bytes() == (d / 'q.raw').read_bytes()


def test_convert_force_share_source_only(kemu_img, qemu_img, qemu_io, images):
    d = images
    # -U: the source may be in use; the target is still locked normally.
    for tool, name in ((kemu_img, 'k'), (qemu_img, 'q')):
        rc, out, err = run(tool, 'convert', '-U', '-O', 'qcow2', 'a.qcow2', f'{name}.qcow2',
                           cwd=d)
        assert rc == 0, err
    assert run(qemu_img, 'compare', d / 'k.qcow2', d / 'q.qcow2')[0] == 0


def test_convert_backing_compressed(kemu_img, qemu_img, images):
    d = images
    args = ['-B', 'b.qcow2', '-F', 'qcow2', '-c', '-O', 'qcow2', 'a.qcow2']
    assert both(kemu_img, qemu_img, d, args, out='qcow2') == 0
    assert run(qemu_img, 'compare', d / 'k.qcow2', d / 'q.qcow2')[0] == 0
    assert run(qemu_img, 'check', d / 'k.qcow2')[0] == 0


# Messages of other sub-commands that now come from the shared helpers (option errors,
# size suffix errors, -U handling), checked the same way.
OTHER = [
    ['map', '-s', 'x', 'a.qcow2'],
    ['map', '-l', 'x', 'a.qcow2'],
    ['map', '-s', '1M', '-l', '6M', '--output=json', 'a.qcow2'],
    ['map', '-x', 'a.qcow2'],
    ['info', 'a.qcow2', '-f'],
    ['info', '--nope', 'a.qcow2'],
    ['check', '-U', '-r', 'all', 'a.qcow2'],
    ['snapshot', '-U', '-c', 's2', 'a.qcow2'],
    ['snapshot', '-U', '-l', 'a.qcow2'],
    ['compare', '-U', 'a.qcow2', 'a.qcow2'],
    ['resize', 'raw.img', '1Q'],
    ['resize', 'raw.img', '+x'],
    ['resize', 'raw.img', '99999999999999999999'],
    ['measure', '-O', 'qcow2', '--size', 'x'],
    ['bench', '-c', '0', 'a.qcow2'],
    ['bench', '-c', '-1', 'a.qcow2'],
    ['bench', '-d', 'x', 'a.qcow2'],
    ['bench', '-U', '-w', '-c', '1', 'raw.img'],
    ['bench', '-i', 'nope', 'a.qcow2'],
    ['commit', '-x', 'a.qcow2'],
]


@pytest.mark.parametrize('args', OTHER, ids=lambda a: ' '.join(a))
def test_other_img_messages(kemu_img, qemu_img, images, args):
    k = run(kemu_img, *args, cwd=images)
    q = run(qemu_img, *args, cwd=images)
    assert k == (q[0], _norm(q[1]), _norm(q[2])), args


@pytest.mark.parametrize('args', [['-C'], ['-C', '-m', '16', '-W'], ['-C', '-n']])
def test_convert_copy_offload_raw(kemu_img, qemu_img, images, args):
    """-C into a raw file copies inside the kernel where the data lies in a host file
    (raw sources, uncompressed qcow2 clusters) and falls back elsewhere; the result is the
    same as qemu-img's either way."""
    d = images
    if '-n' in args:
        for name in ('k.raw', 'q.raw'):
            run(qemu_img, 'create', '-q', '-f', 'raw', d / name, '32M')
    srcs = ['raw.img', 'a.qcow2', 'b.qcow2']
    for name, tool in (('k', kemu_img), ('q', qemu_img)):
        rc, out, err = run(tool, 'convert', *args, '-O', 'raw', *srcs, f'{name}.raw', cwd=d)
        assert rc == 0, err
    assert (d / 'k.raw').read_bytes() == (d / 'q.raw').read_bytes()
