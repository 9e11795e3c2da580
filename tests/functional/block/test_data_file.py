"""qcow2 external data files (qcow2 spec: incompatible bit 2 "External data file",
autoclear bit 1 "Raw external data", header extension 0x44415441) against Debian's
qemu-img/qemu-io 7.2.

Most tests run the same commands with both tools, each in its own directory (k/ and q/)
so that relative file names, and with them the outputs, are the same: create, info,
map and check print the same, the same writes give the same guest contents and the same
L2 entries, images qemu made read back byte-identical through kemu and the other way
round, and with data_file_raw=on the data file alone is the guest disk.
"""
import json
import os
import struct

import pytest

from conftest import io_args, run, untimed

PREALLOC = ['off', 'metadata', 'falloc', 'full']

# Writes, zero writes (with and without unmap) and discards, aligned and not.
OPS = [
    'write -P 0x11 0 192k',
    'write -P 0x22 256k 64k',
    'write -z 64k 64k',
    'write -z -u 128k 64k',
    'discard 256k 64k',
    'write -z 300k 4k',
    'write -P 0x33 1000k 7k',
    'write -P 0x44 65000 3000',
    'discard 512k 128k',
    'write -P 0x55 2047k 1k',
    'write -z 1500k 100k',
]


def tools(kemu_img, kemu_io, qemu_img, qemu_io):
    return {'k': (kemu_img, kemu_io), 'q': (qemu_img, qemu_io)}


def dirs(tmp_path):
    out = {}
    for t in 'kq':
        d = tmp_path / t
        d.mkdir()
        out[t] = d
    return out


def ok(rc_out_err):
    rc, out, err = rc_out_err
    assert rc == 0, err
    return out




def both(t, d, args, kname='kemu-img', qname='qemu-img'):
    """Run args with the kemu and the qemu tool in their directories; same results."""
    k = run(t['k'], *args, cwd=d['k'])
    q = run(t['q'], *args, cwd=d['q'])
    assert k[0] == q[0], f'exit code {args}: kemu {k} qemu {q}'
    assert untimed(k[1]) == untimed(q[1]), f'stdout differs for {args}:\n{k[1]}\n---\n{q[1]}'
    assert k[2] == q[2].replace(qname, kname), f'stderr differs for {args}:\n{k[2]}\n---\n{q[2]}'
    return k


def guest(qemu_img, cwd, name):
    """The guest disk of an image, read by qemu-img (which opens relative data file
    names from the current directory, hence cwd)."""
    out = cwd / f'{name}.guest'
    ok(run(qemu_img, 'convert', '-O', 'raw', name, out.name, cwd=cwd))
    data = out.read_bytes()
    out.unlink()
    return data


def l2_entries(path):
    """Every nonzero L2 entry of the active L1 table: {(l1_index, l2_index): entry}."""
    with open(path, 'rb') as f:
        data = f.read()
    cluster_bits, = struct.unpack('>I', data[20:24])
    l1_size, = struct.unpack('>I', data[36:40])
    l1_offset, = struct.unpack('>Q', data[40:48])
    out = {}
    for i in range(l1_size):
        l1e, = struct.unpack('>Q', data[l1_offset + 8 * i:l1_offset + 8 * i + 8])
        l2 = l1e & 0x00fffffffffffe00
        if not l2:
            continue
        for j in range((1 << cluster_bits) // 8):
            e, = struct.unpack('>Q', data[l2 + 8 * j:l2 + 8 * j + 8])
            if e:
                out[(i, j)] = e
    return out


def info_lines(text):
    """Human info without the host-dependent disk size."""
    return [line for line in text.splitlines() if not line.startswith('disk size:')]


def info_json(text):
    j = json.loads(text)
    j.pop('actual-size', None)
    return j


@pytest.mark.parametrize('prealloc', PREALLOC)
@pytest.mark.parametrize('raw', ['off', 'on'])
def test_create_info_map_check(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, prealloc, raw):
    img = {'k': kemu_img, 'q': qemu_img}
    d = dirs(tmp_path)
    both(img, d, ['create', '-f', 'qcow2', '-o',
                  f'data_file=d.raw,data_file_raw={raw},preallocation={prealloc}', 'a.qcow2', '1M'])
    k = ok(run(kemu_img, 'info', 'a.qcow2', cwd=d['k']))
    q = ok(run(qemu_img, 'info', 'a.qcow2', cwd=d['q']))
    assert info_lines(k) == info_lines(q)
    assert '    data file: d.raw\n' in k
    assert f'    data file raw: {"true" if raw == "on" else "false"}\n' in k
    k = ok(run(kemu_img, 'info', '--output=json', 'a.qcow2', cwd=d['k']))
    q = ok(run(qemu_img, 'info', '--output=json', 'a.qcow2', cwd=d['q']))
    assert info_json(k) == info_json(q)
    for args in (['map', 'a.qcow2'], ['map', '--output=json', 'a.qcow2'], ['check', 'a.qcow2'],
                 ['check', '--output=json', 'a.qcow2']):
        both(img, d, args)
    # The image kemu made is valid for qemu-img; the data file has the virtual size.
    ok(run(qemu_img, 'check', 'a.qcow2', cwd=d['k']))
    assert os.path.getsize(d['k'] / 'd.raw') == 1024 * 1024
    assert l2_entries(d['k'] / 'a.qcow2') == l2_entries(d['q'] / 'a.qcow2')
    if prealloc in ('falloc', 'full'):
        assert os.stat(d['k'] / 'd.raw').st_blocks * 512 >= 1024 * 1024


@pytest.mark.parametrize('cluster', ['4k', '64k'])
@pytest.mark.parametrize('raw', ['off', 'on'])
def test_same_writes_same_image(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cluster, raw):
    t = tools(kemu_img, kemu_io, qemu_img, qemu_io)
    d = dirs(tmp_path)
    for x in 'kq':
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o',
               f'data_file=d.raw,data_file_raw={raw},cluster_size={cluster}', 'a.qcow2', '2M',
               cwd=d[x]))
    io = {'k': kemu_io, 'q': qemu_io}
    both(io, d, io_args(OPS) + ['a.qcow2'], 'kemu-io', 'qemu-io')
    ka, qa = d['k'] / 'a.qcow2', d['q'] / 'a.qcow2'
    ok(run(qemu_img, 'check', 'a.qcow2', cwd=d['k']))
    guest_disk = guest(qemu_img, d['q'], 'a.qcow2')
    assert guest(qemu_img, d['k'], 'a.qcow2') == guest_disk
    assert l2_entries(ka) == l2_entries(qa)
    img = {'k': kemu_img, 'q': qemu_img}
    for args in (['map', '--output=json', 'a.qcow2'], ['map', 'a.qcow2'], ['check', 'a.qcow2'],
                 ['check', '--output=json', 'a.qcow2']):
        both(img, d, args)
    # qemu-io reads kemu's image back; kemu reads qemu's.
    checks = ['read -P 0x11 0 65000', 'read -P 0x44 65000 3000', 'read -P 0 68000 956000',
              'read -P 0x33 1000k 7k', 'read -P 0 1007k 1040k', 'read -P 0x55 2047k 1k']
    for tool, x in ((qemu_io, 'k'), (kemu_io, 'q')):
        out = ok(run(tool, *io_args(checks), 'a.qcow2', cwd=d[x]))
        assert 'Pattern verification failed' not in out
    # Guest contents through kemu-img convert equal qemu-img's.
    ok(run(kemu_img, 'convert', '-O', 'raw', 'a.qcow2', '../k.img', cwd=d['q']))
    assert (tmp_path / 'k.img').read_bytes() == guest_disk
    if raw == 'on':
        # Autoclear bit 1: the data file alone is the guest disk, byte for byte.
        assert (d['k'] / 'd.raw').read_bytes() == guest_disk
        assert (d['q'] / 'd.raw').read_bytes() == guest_disk


def test_qemu_image_reads_back(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    """Data written by qemu-io at many offsets, read through kemu-io and kemu-img convert."""
    ok(run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=q.raw,cluster_size=4k',
           'q.qcow2', '8M', cwd=tmp_path))
    ops, reads = [], []
    for i in range(40):
        off = (i * 197 * 1024 + i * 513) % (8 * 1024 * 1024 - 70000)
        ln = 1000 + i * 1500
        ops.append(f'write -P {i + 1} {off} {ln}')
    ok(run(qemu_io, *io_args(ops), 'q.qcow2', cwd=tmp_path))
    ok(run(qemu_img, 'convert', '-O', 'raw', 'q.qcow2', 'ref.img', cwd=tmp_path))
    ok(run(kemu_img, 'convert', '-O', 'raw', 'q.qcow2', 'k.img', cwd=tmp_path))
    ref = (tmp_path / 'ref.img').read_bytes()
    assert (tmp_path / 'k.img').read_bytes() == ref
    for i in range(0, 40, 7):
        off = (i * 197 * 1024 + i * 513) % (8 * 1024 * 1024 - 70000)
        reads.append(f'read -v {off} 48')
    k = ok(run(kemu_io, *io_args(reads), 'q.qcow2', cwd=tmp_path))
    q = ok(run(qemu_io, *io_args(reads), 'q.qcow2', cwd=tmp_path))
    assert untimed(k) == untimed(q)
    # And kemu-img convert into a data file image gives the same guest disk.
    ok(run(kemu_img, 'convert', '-O', 'qcow2', '-o', 'data_file=c.raw', 'q.qcow2', 'c.qcow2',
           cwd=tmp_path))
    ok(run(qemu_img, 'check', 'c.qcow2', cwd=tmp_path))
    assert ok(run(qemu_img, 'compare', 'q.qcow2', 'c.qcow2', cwd=tmp_path)) == \
        'Images are identical.\n'


@pytest.mark.parametrize('raw', ['off', 'on'])
def test_convert_into_data_file(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, raw):
    src = tmp_path / 'src.raw'
    ok(run(qemu_img, 'create', '-q', '-f', 'raw', src, '4M'))
    ok(run(qemu_io, '-f', 'raw', '-c', 'write -P 1 0 64k', '-c', 'write -P 2 1M 100k',
           '-c', 'write -P 3 3M 4k', src))
    img = {'k': kemu_img, 'q': qemu_img}
    d = dirs(tmp_path)
    both(img, d, ['convert', '-O', 'qcow2', '-o', f'data_file=d.raw,data_file_raw={raw}', src,
                  'a.qcow2'])
    both(img, d, ['map', '--output=json', 'a.qcow2'])
    both(img, d, ['compare', src, 'a.qcow2'])
    ok(run(qemu_img, 'check', 'a.qcow2', cwd=d['k']))
    if raw == 'on':
        assert (d['k'] / 'd.raw').read_bytes() == src.read_bytes()


def test_missing_data_file(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    t = tools(kemu_img, kemu_io, qemu_img, qemu_io)
    d = dirs(tmp_path)
    for x in 'kq':
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'a.qcow2', '1M',
               cwd=d[x]))
        os.rename(d[x] / 'd.raw', d[x] / 'moved.raw')
    img = {'k': kemu_img, 'q': qemu_img}
    io = {'k': kemu_io, 'q': qemu_io}
    for args in (['check', 'a.qcow2'], ['map', 'a.qcow2'], ['compare', 'a.qcow2', 'a.qcow2'],
                 ['convert', '-O', 'raw', 'a.qcow2', 'x.img']):
        rc, _, err = both(img, d, args)
        assert rc != 0 and "Could not open 'd.raw': No such file or directory" in err
    rc, _, err = both(io, d, ['-c', 'read 0 512', 'a.qcow2'], 'kemu-io', 'qemu-io')
    assert err == "kemu-io: can't open device a.qcow2: Could not open 'd.raw': No such file or " \
                  "directory\n"
    # info needs only the metadata.
    k = ok(run(kemu_img, 'info', 'a.qcow2', cwd=d['k']))
    q = ok(run(qemu_img, 'info', 'a.qcow2', cwd=d['q']))
    assert info_lines(k) == info_lines(q)
    # The open option names another file.
    both(io, d, ['-c', 'open -o data-file.filename=moved.raw a.qcow2', '-c', 'read -P 0 0 4k'],
         'kemu-io', 'qemu-io')
    # No name at all (amend drops it): "'data-file' is required".
    for x in 'kq':
        os.rename(d[x] / 'moved.raw', d[x] / 'd.raw')
    both(img, d, ['amend', '-o', 'data_file=', 'a.qcow2'])
    rc, _, err = both(io, d, ['-c', 'read 0 512', 'a.qcow2'], 'kemu-io', 'qemu-io')
    assert "'data-file' is required for this image" in err
    k = ok(run(kemu_img, 'info', 'a.qcow2', cwd=d['k']))
    q = ok(run(qemu_img, 'info', 'a.qcow2', cwd=d['q']))
    assert info_lines(k) == info_lines(q) and 'data file:' not in k


def test_relative_name(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    """qemu 7.2 creates and opens a relative data file name from the current directory;
    kemu does too, and also finds it next to the image (as a backing file) otherwise."""
    (tmp_path / 'sub').mkdir()
    ok(run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'sub/a.qcow2', '1M',
           cwd=tmp_path))
    assert (tmp_path / 'd.raw').exists() and not (tmp_path / 'sub' / 'd.raw').exists()
    ok(run(kemu_io, '-c', 'write -P 7 0 64k', 'sub/a.qcow2', cwd=tmp_path))
    out = ok(run(qemu_io, '-c', 'read -P 7 0 64k', 'sub/a.qcow2', cwd=tmp_path))
    assert 'verification failed' not in out
    k = ok(run(kemu_img, 'map', 'sub/a.qcow2', cwd=tmp_path))
    assert k == ok(run(qemu_img, 'map', 'sub/a.qcow2', cwd=tmp_path))
    assert k.splitlines()[1].split()[-1] == 'd.raw'
    os.rename(tmp_path / 'd.raw', tmp_path / 'sub' / 'd.raw')
    out = ok(run(kemu_io, '-c', 'read -P 7 0 64k', tmp_path / 'sub' / 'a.qcow2', cwd='/'))
    assert 'verification failed' not in out
    out = ok(run(kemu_img, 'map', '--output=json', 'a.qcow2', cwd=tmp_path / 'sub'))
    assert json.loads(out)[0]['data'] is True


def test_refusals(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    t = tools(kemu_img, kemu_io, qemu_img, qemu_io)
    img = {'k': kemu_img, 'q': qemu_img}
    io = {'k': kemu_io, 'q': qemu_io}
    d = dirs(tmp_path)
    for x in 'kq':
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M', cwd=d[x]))
    # create
    for opts in ('data_file=x.raw,compat=0.10', 'data_file_raw=on', 'data_file='):
        rc, _, err = both(img, d, ['create', '-f', 'qcow2', '-o', opts, 'v.qcow2', '1M'])
        assert rc == 1 and err
    rc, _, err = both(img, d, ['create', '-f', 'qcow2', '-o', 'data_file=x.raw,data_file_raw=on',
                               '-b', 'base.qcow2', '-F', 'qcow2', 'v.qcow2', '1M'])
    assert 'Backing file and data-file-raw cannot be used at the same time' in err
    both(img, d, ['create', '-q', '-f', 'qcow2', '-o', 'data_file=n.raw', 'n.qcow2', '1M'])
    both(img, d, ['create', '-q', '-f', 'qcow2', '-o', 'data_file=r.raw,data_file_raw=on',
                  'r.qcow2', '1M'])
    # compressed writes, internal snapshots
    rc, out, _ = both(io, d, ['-c', 'write -c 0 64k', 'n.qcow2'], 'kemu-io', 'qemu-io')
    assert out == 'write failed: Operation not supported\n'
    src = tmp_path / 'src.raw'
    ok(run(qemu_img, 'create', '-q', '-f', 'raw', src, '1M'))
    ok(run(qemu_io, '-f', 'raw', '-c', 'write -P 1 0 64k', src))
    rc, _, err = both(img, d, ['convert', '-c', '-O', 'qcow2', '-o', 'data_file=c.raw', src,
                               'c.qcow2'])
    assert 'error while writing at byte 0: Operation not supported' in err
    for args in (['snapshot', '-c', 's1', 'n.qcow2'], ['snapshot', '-a', 's1', 'n.qcow2'],
                 ['snapshot', '-l', 'n.qcow2']):
        both(img, d, args)
    # backing files and raw external data
    for args in (['rebase', '-u', '-b', 'base.qcow2', '-F', 'qcow2', 'r.qcow2'],
                 ['rebase', '-b', 'base.qcow2', '-F', 'qcow2', 'r.qcow2'],
                 ['amend', '-o', 'backing_file=base.qcow2,backing_fmt=qcow2', 'r.qcow2']):
        rc, _, err = both(img, d, args)
        assert rc == 1 and err
    # a backing file without raw data is fine
    both(img, d, ['rebase', '-u', '-b', 'base.qcow2', '-F', 'qcow2', 'n.qcow2'])
    both(img, d, ['info', 'n.qcow2'])
    # amend
    for args in (['amend', '-o', 'data_file=x.raw', 'base.qcow2'],
                 ['amend', '-o', 'data_file_raw=on', 'base.qcow2'],
                 ['amend', '-o', 'data_file_raw=off', 'base.qcow2'],
                 ['amend', '-o', 'data_file_raw=on', 'n.qcow2'],
                 ['amend', '-o', 'compat=0.10', 'n.qcow2']):
        both(img, d, args)
    for x in 'kq':
        os.rename(d[x] / 'r.raw', d[x] / 'r2.raw')
    for args in (['amend', '-o', 'data_file=r2.raw', 'r.qcow2'], ['info', 'r.qcow2'],
                 ['amend', '-o', 'data_file_raw=on', 'r.qcow2'],
                 ['amend', '-o', 'data_file_raw=off', 'r.qcow2'],
                 ['info', '--output=json', 'r.qcow2'], ['check', 'r.qcow2']):
        both(img, d, args)


def test_raw_bit_without_data_file(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    path = tmp_path / 'a.qcow2'
    ok(run(qemu_img, 'create', '-q', '-f', 'qcow2', path, '1M'))
    with open(path, 'r+b') as f:
        f.seek(88)
        f.write(struct.pack('>Q', 2))
    k = run(kemu_io, '-c', 'read 0 4k', path)
    q = run(qemu_io, '-c', 'read 0 4k', path)
    assert k[0] == q[0] == 1
    assert k[2] == q[2].replace('qemu-io', 'kemu-io')
    assert 'data-file-raw requires a data file' in k[2]


def test_resize(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    t = tools(kemu_img, kemu_io, qemu_img, qemu_io)
    img = {'k': kemu_img, 'q': qemu_img}
    d = dirs(tmp_path)
    for x in 'kq':
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o', 'data_file=r.raw,data_file_raw=on',
               'r.qcow2', '1M', cwd=d[x]))
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o', 'data_file=n.raw', 'n.qcow2', '1M',
               cwd=d[x]))
        ok(run(t[x][1], '-c', 'write -P 9 0 1M', 'n.qcow2', cwd=d[x]))
        ok(run(t[x][1], '-c', 'write -P 8 100k 200k', 'r.qcow2', cwd=d[x]))
    steps = [('n', ['3M']), ('n', ['--preallocation=metadata', '4M']),
             ('n', ['--preallocation=falloc', '5M']), ('n', ['--preallocation=full', '6M']),
             ('n', ['--shrink', '2M']), ('r', ['3M']), ('r', ['--shrink', '512k'])]
    for name, args in steps:
        both(img, d, ['resize', *args, f'{name}.qcow2'])
        assert os.path.getsize(d['k'] / f'{name}.raw') == os.path.getsize(d['q'] / f'{name}.raw')
        assert guest(qemu_img, d['k'], f'{name}.qcow2') == guest(qemu_img, d['q'], f'{name}.qcow2')
        ok(run(qemu_img, 'check', f'{name}.qcow2', cwd=d['k']))
        both(img, d, ['map', '--output=json', f'{name}.qcow2'])
    assert (d['k'] / 'r.raw').read_bytes() == guest(qemu_img, d['k'], 'r.qcow2')


def test_commit(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    t = tools(kemu_img, kemu_io, qemu_img, qemu_io)
    img = {'k': kemu_img, 'q': qemu_img}
    d = dirs(tmp_path)
    for x in 'kq':
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o', 'data_file=b.raw', 'base.qcow2', '2M',
               cwd=d[x]))
        ok(run(t[x][1], '-c', 'write -P 1 0 1M', 'base.qcow2', cwd=d[x]))
        ok(run(t[x][0], 'create', '-q', '-f', 'qcow2', '-o', 'data_file=t.raw', '-b', 'base.qcow2',
               '-F', 'qcow2', 'top.qcow2', cwd=d[x]))
        ok(run(t[x][1], '-c', 'write -P 2 512k 1M', '-c', 'write -P 3 5000 3000', 'top.qcow2',
               cwd=d[x]))
    both(img, d, ['map', '--output=json', 'top.qcow2'])
    both(img, d, ['commit', 'top.qcow2'])
    for name in ('base', 'top'):
        both(img, d, ['map', '--output=json', f'{name}.qcow2'])
        assert guest(qemu_img, d['k'], f'{name}.qcow2') == guest(qemu_img, d['q'], f'{name}.qcow2')
        ok(run(qemu_img, 'check', f'{name}.qcow2', cwd=d['k']))


@pytest.mark.parametrize('aio', ['native', 'io_uring', 'threads'])
def test_direct_io(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, aio):
    """O_DIRECT and the kernel AIO paths (which decline data file images) write the
    data file, not the qcow2 file."""
    ok(run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'a.qcow2', '4M',
           cwd=tmp_path))
    ops = ['write -P 5 1000 70000', 'write -P 6 1M 64k', 'aio_write -P 7 2M 128k', 'aio_flush',
           'write -P 8 3M 4k']
    ok(run(kemu_io, '-t', 'none', '-i', aio, *io_args(ops), 'a.qcow2', cwd=tmp_path))
    ok(run(qemu_img, 'check', 'a.qcow2', cwd=tmp_path))
    reads = ['read -P 5 1000 70000', 'read -P 6 1M 64k', 'read -P 7 2M 128k', 'read -P 8 3M 4k']
    out = ok(run(qemu_io, *io_args(reads), 'a.qcow2', cwd=tmp_path))
    assert 'verification failed' not in out
    # The qcow2 file holds only metadata: 5 clusters.
    assert os.path.getsize(tmp_path / 'a.qcow2') <= 5 * 65536


def test_data_file_is_the_image(kemu_img, kemu_io, qemu_img, tmp_path):
    """A header naming the image itself as its data file is refused (guest writes would
    land on the metadata)."""
    ok(run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'a.qcow2', '1M',
           cwd=tmp_path))
    os.unlink(tmp_path / 'd.raw')
    os.symlink('a.qcow2', tmp_path / 'd.raw')
    rc, _, err = run(kemu_io, '-c', 'write 0 4k', 'a.qcow2', cwd=tmp_path)
    assert rc == 1
    assert err == "kemu-io: can't open device a.qcow2: The data file 'd.raw' is the image file " \
                  "itself\n"
    ok(run(qemu_img, 'check', '-U', 'a.qcow2', cwd=tmp_path))


def test_amend_name_too_long_keeps_image_usable(kemu_img, qemu_img, tmp_path):
    """A data file name that does not fit in the header cluster: qemu-img's error, and the
    image keeps its old name, so later amends still work."""
    long_name = str(tmp_path / ('a' * 70000))
    errs = []
    for tool in (qemu_img, kemu_img):
        name = os.path.basename(tool)
        img = str(tmp_path / f'{name}.qcow2')
        run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o',
            f'data_file={tmp_path / (name + ".raw")}', img, '1M')
        rc, out, err = run(tool, 'amend', '-o', f'data_file={long_name}', img)
        errs.append((rc, out, err.replace(name, 'TOOL')))
        rc, out, err = run(tool, 'amend', '-o', 'lazy_refcounts=on', img)
        assert rc == 0, err
        info = json.loads(run(qemu_img, 'info', '--output=json', img)[1])
        spec = info['format-specific']['data']
        assert spec['data-file'] == str(tmp_path / f'{name}.raw') and spec['lazy-refcounts']
    assert errs[0] == errs[1]
    assert errs[1][0] == 1 and 'No space left on device' in errs[1][2]
