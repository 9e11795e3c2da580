"""kemu-img measure checks its options and -o values as qemu-img 7.2 does, in the same order,
with the same messages, output and exit code (compared with qemu-img in the same run)."""
import shlex

import pytest

from conftest import run

SECRET = '--object secret,id=s0,data=x'
LUKS = f'{SECRET} -O qcow2 -o encrypt.format=luks,encrypt.key-secret=s0'

CASES = [
    # sizes
    '-O qcow2 --size 1G', '-O qcow2 --size 0', '-O qcow2 --size -1', '-O qcow2 --size x',
    '-O qcow2 --size 1.5G', '-O qcow2 --size 1e3', '-O qcow2 --size 8E',
    '-O qcow2 --size 9223372036854775808', '-O qcow2 --size 99999999999999999999',
    '-O qcow2 --size 7E', '-O qcow2 -o cluster_size=2M --size 7E', '-O qcow2 --size 2P',
    '-O qcow2 --size 2251799813685249', '-O qcow2 -o extended_l2=on --size 1P',
    '-O qcow2 -o extended_l2=on --size 1125899906842625', '-O qcow2 -o cluster_size=512 --size 1T',
    # arguments
    '-O qcow2', '-O qcow2 a.qcow2 r.raw', '-O qcow2 --size 1G a.qcow2', '-O qcow2 -f raw',
    '-O qcow2 -l s1 --size 1G', '-O qcow2 --image-opts --size 1G',
    '-O qcow2 --image-opts -f qcow2 missing', '-O qcow2 --image-opts -f qcow2 a b',
    '-O qcow2 missing.qcow2', '-O nope missing.qcow2',
    # target formats
    '--size 1G', '-O raw --size 1G', '-O raw a.qcow2', '-O nope --size 1G', '-O nope a.qcow2',
    '-O vmdk --size 1G', '-O file --size 1G', '-O file -o nope=1 --size 1G',
    # -o keys and their types
    '-O qcow2 -o nope=1 --size 1G', '-O raw -o nope=1 --size 1G',
    '-O raw -o cluster_size=4k --size 1G', '-O qcow2 -o help --size 1G',
    '-O qcow2 -o ? --size 1G', '-O qcow2 -o cluster_size=x --size 1G',
    '-O qcow2 -o cluster_size --size 1G', '-O qcow2 -o refcount_bits=x --size 1G',
    '-O qcow2 -o extended_l2=maybe --size 1G', '-O qcow2 -o nope=1,cluster_size=x --size 1G',
    '-O qcow2 -o cluster_size=x,nope=1 --size 1G', '-O raw -o nocow=x --size 1G',
    '-O raw -o extent_size_hint=x --size 1G', '-O qcow2 -o size=x a.qcow2',
    '-O qcow2 -o =4k --size 1G', '-O qcow2 -o nope=1 missing.qcow2',
    # -o lists
    '-O qcow2 -o cluster_size=4k, --size 1G', '-O qcow2 -o ,cluster_size=4k --size 1G',
    "-O qcow2 -o '' --size 1G", '-O qcow2 -o , --size 1G',
    '-O qcow2 -o cluster_size=4k,,, --size 1G', '-O qcow2 -o cluster_size=4k,,x --size 1G',
    '-O qcow2 -o cluster_size=1k -o cluster_size=4k --size 1G',
    # qcow2 values, and which is reported first
    '-O qcow2 -o cluster_size=3k --size 1G', '-O qcow2 -o cluster_size=4M --size 1G',
    '-O qcow2 -o cluster_size=3k,extended_l2=on --size 1G',
    '-O qcow2 -o extended_l2=on,cluster_size=4k,refcount_bits=3 --size 1G',
    '-O qcow2 -o refcount_bits=3 --size 1G', '-O qcow2 -o refcount_bits=0 --size 1G',
    '-O qcow2 -o refcount_bits=-1 --size 1G', '-O qcow2 -o refcount_bits=1 --size 1G',
    '-O qcow2 -o compat=v3 --size 1G', '-O qcow2 -o compat=0.10 --size 1G',
    '-O qcow2 -o compat=bad,cluster_size=3k --size 1G',
    '-O qcow2 -o refcount_bits=3,compat=bad --size 1G',
    '-O qcow2 -o compat=0.10,refcount_bits=1 --size 1G',
    '-O qcow2 -o compat=0.10,refcount_bits=3 --size 1G',
    '-O qcow2 -o preallocation=bad,compat=bad --size 1G',
    '-O qcow2 -o preallocation=bad --size 1G', '-O raw -o preallocation=bad --size 1G',
    '-O qcow2 -o preallocation=full a.qcow2', '-O qcow2 -o preallocation=metadata --size 1G',
    '-O qcow2 -o data_file=x.raw --size 1G', '-O qcow2 -o data_file=x,preallocation=bad --size 1G',
    # encryption
    '-O qcow2 -o encryption=on --size 1G', '-O qcow2 -o encrypt.format=aes --size 1G',
    '-O qcow2 -o encrypt.format=luks --size 1G',
    '-O qcow2 -o encrypt.format=luks,preallocation=bad --size 1G',
    '-O qcow2 -o encrypt.format=luks,encrypt.cipher-alg=bad --size 1G',
    '-O qcow2 -o encrypt.format=luks,encrypt.key-secret=s0 --size 1G',
    f'{LUKS} --size 1G', f'{LUKS} a.qcow2', f'{LUKS},cluster_size=2M --size 1G',
    f'{LUKS},cluster_size=512 --size 1G', f'{LUKS},encrypt.cipher-alg=aes-128 --size 1G',
    f'{LUKS},encrypt.cipher-mode=cbc --size 1G',
    f'{LUKS},encrypt.cipher-alg=twofish-192,extended_l2=on --size 1G',
    f'{LUKS},encrypt.cipher-alg=3des --size 1G', f'{LUKS},encrypt.cipher-alg=cast5-128 --size 1G',
    f'{LUKS},encrypt.ivgen-alg=x --size 1G',
    f'{LUKS},encrypt.hash-alg=x,encrypt.ivgen-hash-alg=y --size 1G',
    f'{LUKS},encrypt.iter-time=x --size 1G', f'{LUKS} --size 3P',
    # sources: image-opts, snapshots, formats, json
    '-O qcow2 --image-opts driver=qcow2,file.filename=a.qcow2', '-O qcow2 --image-opts a.qcow2',
    '-O qcow2 --image-opts -l s1 driver=qcow2,file.filename=a.qcow2',
    '-O qcow2 -l s1 a.qcow2', '-O qcow2 -l snapshot.name=s1 a.qcow2',
    '-O qcow2 -l snapshot.id=1 a.qcow2', '-O qcow2 -l nope a.qcow2',
    '-O qcow2 -l snapshot.foo=1 a.qcow2', '-O qcow2 -l s1 r.raw', '-O nope -l nope a.qcow2',
    '-O qcow2 -f raw a.qcow2', '-O qcow2 -f qcow2 r.raw', '-O qcow2 -U a.qcow2',
    '-O qcow2 --output=json a.qcow2', '-O qcow2 --output=json --size 1G',
    '-O qcow2 --output=xml --size 1G', '-O qcow2 --output=json -l nope a.qcow2',
    '-O qcow2 -o preallocation=full --output=json a.qcow2',
]


@pytest.fixture(scope='module')
def measure_dir(qemu_img, qemu_io, tmp_path_factory):
    d = tmp_path_factory.mktemp('measure')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', d / 'a.qcow2', '10M')
    run(qemu_io, '-c', 'write 0 1M', d / 'a.qcow2')
    run(qemu_img, 'snapshot', '-c', 's1', d / 'a.qcow2')
    run(qemu_io, '-c', 'write 4M 1M', d / 'a.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'raw', d / 'r.raw', '5M')
    return d


@pytest.mark.parametrize('args', CASES)
def test_measure_like_qemu_img(kemu_img, qemu_img, measure_dir, args):
    argv = ['measure'] + shlex.split(args)
    k = run(kemu_img, *argv, cwd=measure_dir)
    q = run(qemu_img, *argv, cwd=measure_dir)
    assert k == (q[0], q[1], q[2].replace('qemu-img', 'kemu-img')), args


@pytest.mark.parametrize('args', ['-x', '--nope', '--size', '-O qcow2 -f', '--output'])
def test_measure_bad_option_shows_help(kemu_img, qemu_img, measure_dir, args):
    """qemu-img measure lets getopt report a bad option itself and then prints its help
    (exit 0); the help text is each tool's own."""
    argv = ['measure'] + shlex.split(args)
    k = run(kemu_img, *argv, cwd=measure_dir)
    q = run(qemu_img, *argv, cwd=measure_dir)
    assert (k[0], k[2]) == (q[0], q[2]) and k[1].startswith('kemu-img version')
