"""Image interoperability with Debian's qemu-img/qemu-io.

Images written by kemu pass `qemu-img check` and compare equal to a raw reference; images
written by qemu read back byte-identical through kemu-io and kemu-img convert; kemu-io's
command output matches qemu-io's.
"""
import filecmp
import random

import pytest

from conftest import run, untimed

WORKLOAD = [
    'write -P 0x11 0 1M',
    'write -P 0x22 50M 3M',
    'write -z 10M 1M',
    'write -P 0x33 99M 1M',
    'discard 50M 2M',          # cluster-aligned for every size: contents are then defined
    'write -P 0x44 1000 3000',
    'writev -P 0x55 20M 512 4096 100000',
    'write -z 70M 12345',
    'write -P 0x66 33554000 1000',
]


@pytest.mark.parametrize('cluster', ['512', '4k', '64k', '2M'])
@pytest.mark.parametrize('compat,refbits', [('0.10', 16), ('1.1', 1), ('1.1', 16), ('1.1', 64)])
def test_kemu_written_image_is_valid(kemu_img, kemu_io, qemu_img, tmp_path, cluster, compat,
                                     refbits):
    img, ref = tmp_path / 'k.qcow2', tmp_path / 'ref.raw'
    rc, out, err = run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o',
                       f'cluster_size={cluster},compat={compat},refcount_bits={refbits}', img,
                       '100M')
    assert rc == 0, err
    assert run(kemu_img, 'create', '-q', '-f', 'raw', ref, '100M')[0] == 0
    args = [a for cmd in WORKLOAD for a in ('-c', cmd)]
    rc, out, err = run(kemu_io, *args, img)
    assert rc == 0, out + err
    rc, out, err = run(kemu_io, '-f', 'raw', *args, ref)
    assert rc == 0, out + err
    rc, out, err = run(qemu_img, 'check', img)
    assert rc == 0, out + err
    assert 'No errors were found on the image.' in out
    rc, out, err = run(qemu_img, 'compare', '-f', 'qcow2', '-F', 'raw', img, ref)
    assert rc == 0, out + err


def test_random_workload_with_backing(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    """Random overlapping writes, zero writes and discards on a small-cluster overlay over a
    qemu-written base, mirrored on a raw reference copy."""
    base, top, ref = tmp_path / 'base.qcow2', tmp_path / 'top.qcow2', tmp_path / 'ref.raw'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', base, '16M')
    run(qemu_io, '-c', 'write -P 0x77 0 16M', base)
    run(qemu_img, 'convert', '-O', 'raw', base, ref)
    rc, out, err = run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=1k',
                       '-b', base, '-F', 'qcow2', top)
    assert rc == 0, err
    rnd = random.Random(1234)
    cmds = []
    for i in range(300):
        off = rnd.randrange(0, 16 * 1024 * 1024 - 70000)
        ln = rnd.randrange(1, 70000)
        op = rnd.random()
        if op < 0.7:
            cmds.append(f'write -P {i % 250 + 1} {off} {ln}')
        elif op < 0.85:
            cmds.append(f'write -z {off} {ln}')
        else:
            cmds.append(f'write -z {off} {ln}')   # discard has undefined contents: use zeroes
    script = '\n'.join(cmds) + '\n'
    rc, out, err = run(kemu_io, top, input=script)
    assert rc == 0, err
    rc, out, err = run(kemu_io, '-f', 'raw', ref, input=script)
    assert rc == 0, err
    rc, out, err = run(qemu_img, 'check', top)
    assert rc == 0, out + err
    rc, out, err = run(qemu_img, 'compare', '-F', 'raw', top, ref)
    assert rc == 0, out + err


QEMU_IMAGES = {
    'v2': (['-o', 'compat=0.10'], []),
    'v3': ([], []),
    'c512': (['-o', 'cluster_size=512'], []),
    'c4k': (['-o', 'cluster_size=4k'], []),
    'c2m': (['-o', 'cluster_size=2M'], []),
    'rb1': (['-o', 'refcount_bits=1'], []),
    'rb64': (['-o', 'refcount_bits=64,cluster_size=8k'], []),
    'lazy': (['-o', 'lazy_refcounts=on'], []),
    'meta': (['-o', 'preallocation=metadata'], []),
    'falloc': (['-o', 'preallocation=falloc'], []),
    'full': (['-o', 'preallocation=full,cluster_size=16k'], []),
}


def _qemu_workload(qemu_io, img):
    for cmd in ('write -P 0x5a 0 300k', 'write -z 1M 256k', 'write -P 0xa5 5M 1M',
                'write -P 0x3c 8387584 1024', 'discard 5M 64k'):
        rc, out, err = run(qemu_io, '-c', cmd, img)
        assert rc == 0, err


@pytest.mark.parametrize('name', sorted(QEMU_IMAGES))
def test_qemu_written_image_reads_back(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, name):
    opts, _ = QEMU_IMAGES[name]
    img = tmp_path / f'{name}.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', *opts, img, '8M')
    _qemu_workload(qemu_io, img)
    _assert_reads_identical(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, img)


def _assert_reads_identical(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, img):
    kraw, qraw = tmp_path / 'k.raw', tmp_path / 'q.raw'
    rc, out, err = run(kemu_img, 'convert', '-O', 'raw', img, kraw)
    assert rc == 0, err
    assert run(qemu_img, 'convert', '-O', 'raw', img, qraw)[0] == 0
    assert filecmp.cmp(kraw, qraw, shallow=False)
    # Reading through kemu-io gives the same bytes as qemu-io, 64 KiB at a time (dumped).
    size = int(run(qemu_img, 'info', '--output=json', img)[1].split('"virtual-size": ')[1]
               .split(',')[0])
    step = max(size // 16, 65536)
    cmds = [a for off in range(0, size, step) for a in ('-c', f'read -v {off} 4096')]
    k = run(kemu_io, '-r', *cmds, img)
    q = run(qemu_io, '-r', *cmds, img)
    assert k[0] == q[0] == 0
    assert untimed(k[1]) == untimed(q[1])


def test_qemu_compressed_image(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    src = tmp_path / 'src.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', src, '8M')
    _qemu_workload(qemu_io, src)
    for cs in ('512', '64k', '2M'):
        img = tmp_path / f'comp{cs}.qcow2'
        assert run(qemu_img, 'convert', '-c', '-O', 'qcow2', '-o', f'cluster_size={cs}', src,
                   img)[0] == 0
        _assert_reads_identical(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, img)
        # Writing over compressed clusters (COW out of them) keeps the image valid.
        rc, out, err = run(kemu_io, '-c', 'write -P 0x99 100 1000', img)
        assert rc == 0, err
        assert run(qemu_img, 'check', img)[0] == 0
        rc, out, err = run(qemu_io, '-c', 'read -P 0x5a 0 100', '-c', 'read -P 0x99 100 1000',
                           '-c', 'read -P 0x5a 1100 2000', img)
        assert 'verification failed' not in out, out


def test_qemu_snapshots_and_backing(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    base = tmp_path / 'base.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', base, '8M')
    _qemu_workload(qemu_io, base)
    run(qemu_img, 'snapshot', '-c', 'snap1', base)
    run(qemu_io, '-c', 'write -P 0x10 0 64k', base)
    run(qemu_img, 'snapshot', '-c', 'snap2', base)
    run(qemu_io, '-c', 'write -P 0x20 32k 64k', base)
    top = tmp_path / 'top.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top)
    run(qemu_io, '-c', 'write -P 0x30 60k 8k', '-c', 'write -z 5M 64k', top)
    _assert_reads_identical(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, top)
    # Writing into an image with snapshots copies shared clusters (refcount > 1).
    rc, out, err = run(kemu_io, '-c', 'write -P 0x40 0 100k', '-c', 'write -z 5M 1M', base)
    assert rc == 0, err
    assert run(qemu_img, 'check', base)[0] == 0
    rc, out, err = run(qemu_img, 'snapshot', '-a', 'snap1', base)
    assert rc == 0, err
    rc, out, err = run(qemu_io, '-c', 'read -P 0x5a 0 300k', '-c', 'read -P 0xa5 5184k 64k',
                       '-c', 'read -P 0 5M 64k', base)
    assert 'verification failed' not in out, out


KEMU_IO_SCRIPTS = [
    ['write -P 0xab 0 128k', 'write -z 1M 64k', 'read -v 0 40', 'read -P 0xab 512 512',
     'read -P 0xac 0 512', 'map', 'alloc 0 1M', 'alloc 1M', 'length', 'info',
     'discard 0 64k', 'map', 'readv -P 0xab 64k 512 1536', 'writev -P 5 0 512 512', 'flush',
     'read -P 5 0 1k', 'truncate 32M', 'length'],
    ['write -P 1 100 1000', 'aio_write -P 2 64k 4k', 'aio_flush', 'aio_read -P 2 64k 4k',
     'aio_flush', 'read -P 0 0 100', 'read -l 10 -s 100 -P 1 0 1100', 'write -z -u 0 64k',
     'read -q -P 0 0 64k', 'read bogus 1', 'nosuchcommand', 'read 0'],
    ['write -P 1 0 128k', 'discard 0 64k', 'write -z 64k 64k', 'write -z 1000 100',
     'write -z 200k 100', 'write -z 130000 70000', 'map', 'alloc 0 256k', 'read -P 0 0 64k'],
]


@pytest.mark.parametrize('script', range(len(KEMU_IO_SCRIPTS)))
@pytest.mark.parametrize('fmt', ['qcow2', 'qcow2-v2', 'raw'])
def test_kemu_io_output_matches_qemu_io(kemu_io, qemu_io, qemu_img, tmp_path, script, fmt):
    k_img, q_img = tmp_path / 'k.img', tmp_path / 'q.img'
    opts = ['-o', 'compat=0.10'] if fmt == 'qcow2-v2' else []
    fmt = fmt.split('-')[0]
    for img in (k_img, q_img):
        run(qemu_img, 'create', '-q', '-f', fmt, *opts, img, '64M')
    args = ['-f', fmt] + [a for c in KEMU_IO_SCRIPTS[script] for a in ('-c', c)]
    k = run(kemu_io, *args, k_img)
    q = run(qemu_io, *args, q_img)
    assert k[0] == q[0]
    assert untimed(k[1]) == untimed(q[1])
    assert k[2] == q[2].replace('qemu-io', 'kemu-io')
    if fmt == 'qcow2':
        assert run(qemu_img, 'compare', k_img, q_img)[0] == 0


def test_kemu_io_read_only(kemu_io, qemu_io, qemu_img, tmp_path):
    img = tmp_path / 'r.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1M')
    k = run(kemu_io, '-r', '-c', 'write 0 512', '-c', 'read 0 512', img)
    q = run(qemu_io, '-r', '-c', 'write 0 512', '-c', 'read 0 512', img)
    assert k[0] == q[0] == 1
    assert untimed(k[1]) == untimed(q[1])
    assert k[2] == q[2].replace('qemu-io', 'kemu-io')


@pytest.mark.parametrize('cache', ['none', 'writeback', 'writethrough', 'directsync', 'unsafe'])
def test_cache_modes(kemu_io, qemu_img, tmp_path, cache):
    img = tmp_path / 'c.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', img, '8M')
    rc, out, err = run(kemu_io, '-t', cache, '-c', 'write -P 7 1000 5000', '-c',
                       'write -P 8 3M 1M', '-c', 'read -P 7 1000 5000', '-c', 'flush', img)
    assert rc == 0, out + err
    assert run(qemu_img, 'check', img)[0] == 0
    rc, out, err = run(kemu_io, '-n', '-c', 'read -P 7 1000 5000', '-c', 'read -P 8 3M 1M',
                       '-c', 'read -P 0 0 1000', img)
    assert rc == 0, out + err


@pytest.mark.parametrize('cluster', ['512', '4k', '64k', '2M'])
def test_convert_compressed(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cluster):
    src, dst = tmp_path / 'src.qcow2', tmp_path / 'c.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', src, '8M')
    _qemu_workload(qemu_io, src)
    run(qemu_io, '-c', 'write -P 0x31 7M 100000', src)
    rc, out, err = run(kemu_img, 'convert', '-c', '-O', 'qcow2', '-o', f'cluster_size={cluster}',
                       src, dst)
    assert rc == 0, err
    rc, out, err = run(qemu_img, 'check', dst)
    assert rc == 0, out + err
    assert '100.00% compressed clusters' in out
    assert run(qemu_img, 'compare', src, dst)[0] == 0
    # Rewriting part of a compressed cluster copies it out.
    rc, out, err = run(kemu_io, '-c', 'write -P 0x44 1000 10', dst)
    assert rc == 0, err
    assert run(qemu_img, 'check', dst)[0] == 0
    rc, out, err = run(qemu_io, '-c', 'read -P 0x5a 0 1000', '-c', 'read -P 0x44 1000 10', '-c',
                       'read -P 0x5a 1010 2000', dst)
    assert 'verification failed' not in out, out


def test_internal_snapshots(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 's.qcow2')
    assert run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', img, '8M')[0] == 0
    run(kemu_io, '-c', 'write -P 1 0 1M', '-c', 'write -P 2 4M 64k', img)
    assert run(kemu_img, 'snapshot', '-c', 's1', img)[0] == 0
    run(kemu_io, '-c', 'write -P 3 0 512k', '-c', 'write -z 4M 64k', img)
    assert run(kemu_img, 'snapshot', '-c', 's2', img)[0] == 0
    run(kemu_io, '-c', 'write -P 4 100k 8k', img)
    for args in (['snapshot', '-l', img], ['info', img], ['info', '--output=json', img]):
        k, q = run(kemu_img, *args), run(qemu_img, *args)
        assert k[:2] == q[:2], args
    assert run(qemu_img, 'check', img)[0] == 0
    # qemu applies a snapshot kemu made, and kemu applies one qemu made.
    assert run(qemu_img, 'snapshot', '-a', 's1', img)[0] == 0
    rc, out, err = run(kemu_io, '-r', '-c', 'read -P 1 0 1M', '-c', 'read -P 2 4M 64k', img)
    assert rc == 0, out
    assert run(qemu_img, 'snapshot', '-c', 'q3', img)[0] == 0
    assert run(kemu_img, 'snapshot', '-a', 's2', img)[0] == 0
    assert run(qemu_img, 'check', img)[0] == 0
    rc, out, err = run(qemu_io, '-r', '-c', 'read -P 3 0 512k', '-c', 'read -P 1 512k 512k',
                       '-c', 'read -P 0 4M 64k', img)
    assert 'verification failed' not in out, out
    for name in ('s1', '3', 's2'):
        assert run(kemu_img, 'snapshot', '-d', name, img)[0] == 0
        assert run(qemu_img, 'check', img)[0] == 0
    assert run(qemu_img, 'snapshot', '-l', img)[1] == ''
    rc, out, err = run(qemu_io, '-r', '-c', 'read -P 3 0 512k', '-c', 'read -P 0 4M 64k', img)
    assert 'verification failed' not in out, out
    for args in (['-d', 'nope'], ['-a', 'nope']):
        k, q = run(kemu_img, 'snapshot', *args, img), run(qemu_img, 'snapshot', *args, img)
        assert k[0] == q[0] == 1
        assert k[2] == q[2].replace('qemu-img', 'kemu-img')


def _chain(kemu_img, kemu_io, qemu_img, d):
    run(kemu_img, 'create', '-q', '-f', 'qcow2', d / 'base.qcow2', '4M')
    run(kemu_io, '-c', 'write -P 1 0 4M', d / 'base.qcow2')
    run(kemu_img, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2',
        d / 'mid.qcow2')
    run(kemu_io, '-c', 'write -P 2 1M 1M', d / 'mid.qcow2')
    run(kemu_img, 'create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2',
        d / 'top.qcow2')
    run(kemu_io, '-c', 'write -P 3 0 64k', '-c', 'write -z 3M 64k', '-c', 'write -P 4 1500k 1k',
        d / 'top.qcow2')
    assert run(qemu_img, 'convert', '-O', 'raw', d / 'top.qcow2', d / 'ref.raw')[0] == 0


def test_commit(kemu_img, kemu_io, qemu_img, tmp_path):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    k = run(kemu_img, 'commit', tmp_path / 'top.qcow2')
    assert k[:2] == (0, 'Image committed.\n'), k
    for img in ('top.qcow2', 'mid.qcow2'):
        assert run(qemu_img, 'check', tmp_path / img)[0] == 0
        assert run(qemu_img, 'compare', tmp_path / img, tmp_path / 'ref.raw')[0] == 0
    # The top was emptied: everything now comes from mid.
    out = run(qemu_img, 'map', '--output=json', tmp_path / 'top.qcow2')[1]
    assert '"depth": 0' not in out
    k = run(kemu_img, 'commit', '-b', 'nope', tmp_path / 'top.qcow2')
    q = run(qemu_img, 'commit', '-b', 'nope', tmp_path / 'top.qcow2')
    assert k[0] == q[0] == 1 and k[2] == q[2].replace('qemu-img', 'kemu-img')


def test_commit_to_base(kemu_img, kemu_io, qemu_img, tmp_path):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    assert run(kemu_img, 'commit', '-b', tmp_path / 'base.qcow2', tmp_path / 'top.qcow2')[0] == 0
    assert run(qemu_img, 'check', tmp_path / 'base.qcow2')[0] == 0
    assert run(qemu_img, 'compare', tmp_path / 'base.qcow2', tmp_path / 'ref.raw')[0] == 0


@pytest.mark.parametrize('new_base', ['base.qcow2', ''])
def test_rebase_safe(kemu_img, kemu_io, qemu_img, tmp_path, new_base):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    args = ['-b', new_base] + (['-F', 'qcow2'] if new_base else [])
    rc, out, err = run(kemu_img, 'rebase', *args, tmp_path / 'top.qcow2')
    assert rc == 0, err
    assert run(qemu_img, 'check', tmp_path / 'top.qcow2')[0] == 0
    assert run(qemu_img, 'compare', tmp_path / 'top.qcow2', tmp_path / 'ref.raw')[0] == 0
    info = run(qemu_img, 'info', tmp_path / 'top.qcow2')[1]
    assert (f'backing file: {new_base}' in info) == bool(new_base)


def test_rebase_unsafe_and_errors(kemu_img, kemu_io, qemu_img, tmp_path):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    top = tmp_path / 'top.qcow2'
    k = run(kemu_img, 'rebase', '-b', 'base.qcow2', top)
    q = run(qemu_img, 'rebase', '-b', 'base.qcow2', top)
    assert k[0] == q[0] == 1 and k[2] == q[2].replace('qemu-img', 'kemu-img')
    assert run(kemu_img, 'rebase', '-u', '-b', 'base.qcow2', '-F', 'qcow2', top)[0] == 0
    k, q = run(kemu_img, 'info', top), run(qemu_img, 'info', top)
    assert k[:2] == q[:2]
    assert 'backing file: base.qcow2' in k[1]


def test_amend(kemu_img, kemu_io, qemu_img, tmp_path):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    top = tmp_path / 'top.qcow2'
    assert run(kemu_img, 'amend', '-o', 'lazy_refcounts=on', top)[0] == 0
    assert 'lazy refcounts: true' in run(qemu_img, 'info', top)[1]
    assert run(kemu_img, 'amend', '-o', 'compat=0.10', top)[0] == 0
    assert 'compat: 0.10' in run(qemu_img, 'info', top)[1]
    assert run(qemu_img, 'check', top)[0] == 0
    assert run(qemu_img, 'compare', top, tmp_path / 'ref.raw')[0] == 0
    assert run(kemu_img, 'amend', '-o', 'compat=1.1', top)[0] == 0
    assert 'compat: 1.1' in run(qemu_img, 'info', top)[1]
    for args in (['-o', 'cluster_size=4k', top], ['-f', 'raw', '-o', 'size=1M',
                                                   tmp_path / 'ref.raw']):
        k, q = run(kemu_img, 'amend', *args), run(qemu_img, 'amend', *args)
        assert k[0] == q[0] == 1
        assert k[2] == q[2].replace('qemu-img', 'kemu-img')


@pytest.mark.parametrize('aio', ['threads', 'native', 'io_uring'])
@pytest.mark.parametrize('fmt', ['raw', 'qcow2'])
def test_aio_modes(kemu_io, qemu_img, qemu_io, tmp_path, aio, fmt):
    img = tmp_path / f'a.{fmt}'
    run(qemu_img, 'create', '-q', '-f', fmt, img, '16M')
    cmds = []
    for i in range(64):
        cmds += ['-c', f'aio_write -q -P {i + 1} {i * 65536} 65536']
    cmds += ['-c', 'aio_flush']
    for i in range(64):
        cmds += ['-c', f'aio_read -P {i + 1} {i * 65536} 65536']
    cmds += ['-c', 'aio_flush', '-c', 'writev -P 9 1000 512 100', '-c', 'read -P 9 1000 612']
    rc, out, err = run(kemu_io, '-f', fmt, '-t', 'none', '-i', aio, *cmds, img)
    assert rc == 0, out + err
    assert out.count('read 65536/65536 bytes') == 64
    rc, out, err = run(qemu_io, '-f', fmt, '-r', '-c', 'read -P 1 0 1000', '-c',
                       'read -P 64 4032k 64k', '-c', 'read -P 9 1000 612', img)
    assert 'verification failed' not in out, out
    if fmt == 'qcow2':
        assert run(qemu_img, 'check', img)[0] == 0


def test_kemu_io_snapshot_mode_leaves_image_untouched(kemu_io, qemu_img, qemu_io, tmp_path):
    img = tmp_path / 's.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1M')
    run(qemu_io, '-c', 'write -P 1 0 64k', img)
    rc, out, err = run(kemu_io, '-s', '-c', 'write -P 5 0 4k', '-c', 'read -P 5 0 4k', '-c',
                       'read -P 1 4k 60k', img)
    assert rc == 0, out + err
    rc, out, err = run(qemu_io, '-r', '-c', 'read -P 1 0 64k', img)
    assert 'verification failed' not in out, out
    assert run(qemu_img, 'check', img)[0] == 0


def _hold_open(tool_path, img, *args):
    """Start tool_path interactively on img (it keeps the image open until stdin closes)."""
    import subprocess
    import time
    p = subprocess.Popen([str(tool_path), *args, str(img)], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def test_image_locking_interop(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = tmp_path / 'l.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1M')
    msg_w = f'Failed to get "write" lock\nIs another process using the image [{img}]?\n'
    msg_sw = f'Failed to get shared "write" lock\nIs another process using the image [{img}]?\n'
    p = _hold_open(kemu_io, img)
    try:
        rc, out, err = run(qemu_io, '-c', 'read 0 1', img)
        assert rc == 1 and err == f"qemu-io: can't open device {img}: {msg_w}"
        rc, out, err = run(qemu_img, 'info', img)
        assert rc == 1 and err == f"qemu-img: Could not open '{img}': {msg_sw}"
        assert run(qemu_img, 'info', '-U', img)[0] == 0
        assert run(kemu_img, 'info', '-U', img)[0] == 0
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    p = _hold_open(qemu_io, img)
    try:
        rc, out, err = run(kemu_io, '-c', 'read 0 1', img)
        assert rc == 1 and err == f"kemu-io: can't open device {img}: {msg_w}"
        rc, out, err = run(kemu_img, 'info', img)
        assert rc == 1 and err == f"kemu-img: Could not open '{img}': {msg_sw}"
        rc, out, err = run(kemu_io, '-r', '-U', '-c', 'read 0 1', img)
        assert rc == 0, err
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert run(kemu_io, '-c', 'write 0 1', img)[0] == 0


def test_convert_variants(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    _chain(kemu_img, kemu_io, qemu_img, tmp_path)
    top, ref = tmp_path / 'top.qcow2', tmp_path / 'ref.raw'
    # -B: the target keeps only what differs from the given backing file.
    out = tmp_path / 'b.qcow2'
    rc, o, err = run(kemu_img, 'convert', '-O', 'qcow2', '-B', 'mid.qcow2', '-F', 'qcow2', top,
                     out)
    assert rc == 0, err
    assert run(qemu_img, 'check', out)[0] == 0
    assert run(qemu_img, 'compare', out, ref)[0] == 0
    assert 'backing file: mid.qcow2' in run(qemu_img, 'info', out)[1]
    # -n into an existing, larger, dirty target: zero areas are written as zeroes.
    tgt = tmp_path / 'n.raw'
    run(qemu_img, 'create', '-q', '-f', 'raw', tgt, '4M')
    run(qemu_io, '-f', 'raw', '-c', 'write -P 0x77 0 4M', tgt)
    rc, o, err = run(kemu_img, 'convert', '-n', '-O', 'raw', top, tgt)
    assert rc == 0, err
    assert run(qemu_img, 'compare', '-F', 'raw', top, tgt)[0] == 0
    # Several sources are concatenated.
    cat = tmp_path / 'cat.qcow2'
    rc, o, err = run(kemu_img, 'convert', '-O', 'qcow2', top, tmp_path / 'base.qcow2', cat)
    assert rc == 0, err
    assert 'virtual size: 8 MiB' in run(qemu_img, 'info', cat)[1]
    rc, o, err = run(qemu_io, '-r', '-c', 'read -P 3 0 64k', '-c', 'read -P 1 4M 4M', cat)
    assert 'verification failed' not in o, o
    # -S 0 disables zero detection: everything is allocated.
    full = tmp_path / 'full.qcow2'
    assert run(kemu_img, 'convert', '-S', '0', '-O', 'qcow2', top, full)[0] == 0
    assert run(qemu_img, 'compare', full, ref)[0] == 0
