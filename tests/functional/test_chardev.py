"""Character device back-ends seen from outside: the guest's serial output reaching a file, a
UNIX socket server (waiting for its client) and a TCP socket server."""
import os
import socket
import subprocess
import tempfile
import time

BASE = ['-display', 'none', '-nodefaults', '-no-reboot',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4']
EXPECT = b'PASS hello'


def read_all(sock):
    data = b''
    sock.settimeout(20)
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_serial_to_file(kemu, kernels_dir):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 'serial.log')
        p = subprocess.run([kemu] + BASE + ['-chardev', f'file,id=f0,path={out}',
                                            '-serial', 'chardev:f0',
                                            '-kernel', os.path.join(kernels_dir, 'hello.elf')],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        assert p.returncode == 1  # isa-debug-exit with 0
        assert EXPECT in open(out, 'rb').read()


def test_serial_unix_server_waits_for_client(kemu, kernels_dir):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'serial.sock')
        p = subprocess.Popen([kemu] + BASE + ['-serial', f'unix:{path},server=on',
                                              '-kernel', os.path.join(kernels_dir, 'hello.elf')],
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.02)
        time.sleep(0.2)
        assert p.poll() is None, 'the guest must not start before the client connects'
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        data = read_all(s)
        assert p.wait(timeout=20) == 1
        assert data.startswith(b'Hello from kemu test kernel')
        assert EXPECT in data
        err = p.stderr.read().decode()
        assert (f'-serial unix:{path},server=on: info: QEMU waiting for connection on: '
                f'disconnected:unix:{path},server=on\n') in err, err


def test_sigterm_while_waiting_for_client(kemu, kernels_dir):
    """A server socket that waits for its client at start-up still ends on SIGTERM (QEMU
    does), with its 'terminating on signal' line and status 0."""
    import signal
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'wait.sock')
        p = subprocess.Popen([kemu] + BASE + ['-chardev', f'socket,id=c0,path={path},server=on',
                                              '-serial', 'chardev:c0',
                                              '-kernel', os.path.join(kernels_dir, 'hello.elf')],
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.02)
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        err = p.stderr.read().decode()
        assert f'-chardev socket,id=c0,path={path},server=on: info: QEMU waiting' in err, err
        assert 'terminating on signal 15' in err, err


def test_serial_tcp_server(kemu, kernels_dir):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    p = subprocess.Popen([kemu] + BASE + ['-chardev',
                                          f'socket,id=s0,host=127.0.0.1,port={port},server=on',
                                          '-serial', 'chardev:s0',
                                          '-kernel', os.path.join(kernels_dir, 'hello.elf')],
                         stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = None
    for _ in range(200):
        try:
            s = socket.create_connection(('127.0.0.1', port))
            break
        except OSError:
            time.sleep(0.02)
    assert s is not None
    data = read_all(s)
    assert p.wait(timeout=20) == 1
    assert EXPECT in data


def test_socket_without_address_is_an_error(kemu, kernels_dir):
    p = subprocess.run([kemu] + BASE + ['-chardev', 'socket,id=s0', '-kernel',
                                        os.path.join(kernels_dir, 'hello.elf')],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert p.stderr.splitlines()[0] == \
        'kemu-system-x86_64: -chardev socket,id=s0: chardev: socket: no host given'
