"""Shared pytest fixtures: where the binaries under test and the reference QEMU are."""
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('KEMU_BUILD_DIR', os.path.join(ROOT, 'build'))


@pytest.fixture(scope='session')
def kemu():
    """Path of kemu-system-x86_64; missing binary is a failure, not a skip."""
    path = os.environ.get('KEMU_SYSTEM', os.path.join(BUILD, 'kemu-system-x86_64'))
    assert os.path.exists(path) or shutil.which(path), f'{path} not built'
    return path


@pytest.fixture(scope='session')
def qemu_ref():
    """Debian's qemu-system-x86_64, the reference (installed by scripts/install-deps.sh)."""
    path = shutil.which('qemu-system-x86_64')
    assert path, 'qemu-system-x86_64 (Debian qemu-system-x86) is required for reference checks'
    return path


@pytest.fixture(scope='session')
def kernels_dir():
    return os.path.join(BUILD, 'tests', 'kernels')
