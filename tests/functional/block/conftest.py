"""Fixtures for block tests: kemu-img/kemu-io under test, Debian's qemu-img/qemu-io as reference.

The reference tools are required: when they are missing the tests fail (CI installs qemu-utils).
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_build = os.environ.get('KEMU_BUILD_DIR', 'build')
BUILD = _build if os.path.isabs(_build) else os.path.join(ROOT, _build)
# Under a sanitizer build, a UBSan report must fail the tool (ASan already aborts).
os.environ.setdefault('UBSAN_OPTIONS', 'halt_on_error=1:print_stacktrace=1')


def _tool(name):
    path = os.path.join(BUILD, 'tools', name)
    assert os.path.exists(path), f'{path} not built'
    return path


def _ref(name):
    path = shutil.which(name)
    assert path, f'{name} (Debian qemu-utils) is required as the reference'
    return path


@pytest.fixture(scope='session')
def kemu_img():
    return _tool('kemu-img')


@pytest.fixture(scope='session')
def kemu_io():
    return _tool('kemu-io')


@pytest.fixture(scope='session')
def qemu_img():
    return _ref('qemu-img')


@pytest.fixture(scope='session')
def qemu_io():
    return _ref('qemu-io')


def run(*args, input=None, cwd=None):
    """Run a command; return (returncode, stdout, stderr) as text."""
    p = subprocess.run([str(a) for a in args], input=input, cwd=cwd, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode >= 0, f'{args[0]} killed by signal {-p.returncode}: {p.stderr}'
    return p.returncode, p.stdout, p.stderr


def untimed(text):
    """qemu-io output without its timing lines (they differ run to run)."""
    return [line for line in text.splitlines() if ' ops; ' not in line]


def same(kemu, qemu, args, cwd, kname='kemu-img', qname='qemu-img'):
    """Run both tools with the same arguments; same exit code, stdout and stderr."""
    k = run(kemu, *args, cwd=cwd)
    q = run(qemu, *args, cwd=cwd)
    assert k[0] == q[0], f'exit code {args}: kemu {k} qemu {q}'
    assert k[1] == q[1], f'stdout differs for {args}:\n{k[1]}\n---\n{q[1]}'
    assert k[2] == q[2].replace(qname, kname), f'stderr differs for {args}:\n{k[2]}\n---\n{q[2]}'
    return k


def io_args(cmds):
    """qemu-io -c arguments for a list of commands."""
    out = []
    for c in cmds:
        out += ['-c', c]
    return out


def same_data_map(m):
    """A parsed `map --output=json` without the "zero" of data extents and with adjacent
    extents merged.  For data that "zero" tells where the host file reads as a hole, which
    ext4 decides partly by timing (when it converts a written part of an unwritten extent it
    may zero out and convert its small neighbours too), so two images written alike may
    differ there."""
    out = []
    for e in m:
        e = dict(e)
        if e['data']:
            e.pop('zero')
        prev = out[-1] if out else None
        if prev and all(prev.get(k) == e.get(k) for k in ('depth', 'present', 'data', 'zero')) \
                and ('offset' in prev) == ('offset' in e) \
                and ('offset' not in e or prev['offset'] + prev['length'] == e['offset']):
            prev['length'] += e['length']
        else:
            out.append(e)
    return out
