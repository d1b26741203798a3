"""Runs ``python -m MODULE ARGS`` (or ``python SCRIPT ARGS``) for the tests without paying
TensorFlow's import each time.

Most of the suite's command tests spend 5-6 s of CPU importing TensorFlow and Keras before the
command does anything. A server process per pytest process imports them once (and nothing of
tfcolor or data_prep; Apache Beam where installed), then forks a child per command: the child
sets the command's environment, working directory, argv, standard streams (the caller's own file
descriptors, passed over a Unix socket) and session, and runs the module as ``__main__`` with ``runpy``,
exactly as ``python -m`` would; its exit (SystemExit, an uncaught traceback, atexit handlers)
is the interpreter's own. TensorFlow has started no runtime at import (no eager context, no
thread pools), so the fork is safe; the child starts its runtime itself.

:class:`Popen` is ``subprocess.Popen`` for such commands (pid, poll, wait, kill, communicate):
commands run concurrently (multi-worker training) and can be killed with SIGKILL, alone or with
their process group. Shell scripts get the same through ``python tests/launcher.py ARGS``
(:func:`python_shim` writes an executable that does it), which forwards its argv, environment,
working directory and standard streams to the server and exits with the command's status.

The server freezes what it imported out of the garbage collector's reach (``gc.freeze``, as a
fork server should): a forked command's exit traversed TensorFlow's objects for 0.8 s.

A command whose environment changes a variable read when TensorFlow is imported (TF_* but
TF_CONFIG, XLA_*, CUDA_*, OMP_*, KMP_*, MKL_*, PYTHON* but PYTHONPATH) runs as a real
subprocess instead, as does everything when TFCOLOR_TEST_FORK=0.
"""

import atexit
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRELOAD = ("tensorflow", "keras", "numpy", "PIL.Image", "matplotlib.pyplot", "absl.app", "absl.flags")
# Imported too where installed: Apache Beam (its pipelines and each of their worker processes
# imported it again, 0.5 s of CPU each).
PRELOAD_IF_INSTALLED = ("apache_beam",)
_IMPORT_TIME_PREFIXES = ("TF_", "XLA_", "CUDA_", "OMP_", "KMP_", "MKL_", "PYTHON")
# read later, by this launcher, or by no one (PYTHON: the interpreter bench/gpu.sh runs)
_NOT_IMPORT_TIME = ("PYTHONPATH", "PYTHON", "TF_CONFIG", "TFCOLOR_FORK_SOCKET")
SOCKET_VARIABLE = "TFCOLOR_FORK_SOCKET"

_server = None
_server_environ = None  # the environment the server imported TensorFlow under
_socket_path = None
_lock = threading.Lock()


def command_env(**extra):
    """The environment the tests run commands in: the repository importable, TensorFlow's
    C++ logging quiet, plus ``extra``."""
    return dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", **extra)


def forkable(env, base):
    """Whether a command with environment ``env`` may fork from a server started under ``base``."""
    if os.environ.get("TFCOLOR_TEST_FORK", "1") == "0" or not hasattr(os, "fork"):
        return False
    for key in set(env) | set(base):
        if key.startswith(_IMPORT_TIME_PREFIXES) and key not in _NOT_IMPORT_TIME and env.get(key) != base.get(key):
            return False
    return True


def _forkable(env):
    base = _server_environ if _server is not None and _server.poll() is None else command_env()
    return forkable(env, base)


def _send(sock, message, fds):
    payload = json.dumps(message).encode()
    socket.send_fds(sock, [struct.pack("!Q", len(payload)) + payload], fds)


def _receive(sock, max_fds=0):
    """(message, fds) of one length-prefixed JSON message; (None, []) at EOF."""
    data, fds, _, _ = socket.recv_fds(sock, 65536, max_fds) if max_fds else (sock.recv(65536), [], 0, None)
    if not data:
        return None, fds
    while len(data) < 8 or len(data) < 8 + struct.unpack("!Q", data[:8])[0]:
        more = sock.recv(1 << 20)
        if not more:
            return None, fds
        data += more
    return json.loads(data[8:8 + struct.unpack("!Q", data[:8])[0]]), fds


def _server_socket():
    """The path of this pytest process's server socket (the server is started on first use)."""
    global _server, _server_environ, _socket_path
    with _lock:
        if _server is None or _server.poll() is not None:
            _server_environ = command_env()
            _socket_path = os.path.join(tempfile.mkdtemp(prefix="tfcolor-fork-"), "socket")
            _server = subprocess.Popen([sys.executable, "-c", f"from tests.launcher import serve; serve({_socket_path!r})"],
                                       cwd=REPO, env=_server_environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
            atexit.register(_server.kill)
            atexit.register(shutil.rmtree, os.path.dirname(_socket_path), True)
            if _server.stdout.readline().strip() != "ready":
                raise RuntimeError("the test launcher's server did not start")
        return _socket_path


class Popen:
    """``subprocess.Popen([python, *argv], cwd=cwd, env=env, ...)`` for a command forked from the
    server (a real subprocess when the environment needs one). ``stdout`` / ``stderr``: None
    (this process's), subprocess.DEVNULL, subprocess.PIPE (text, read by :meth:`communicate`) or a
    file descriptor; ``start_new_session`` as for subprocess."""

    def __init__(self, argv, env, cwd=REPO, stdout=None, stderr=None, start_new_session=False):
        self.args = [sys.executable, *argv]
        self.returncode = None
        self._real = None
        self._captured = {}
        if not _forkable(env):
            self._real = subprocess.Popen(self.args, cwd=cwd, env=env, stdout=stdout, stderr=stderr, text=True,
                                          start_new_session=start_new_session)
            self.pid = self._real.pid
            return
        fds, opened = [], []
        for number, target in enumerate((subprocess.DEVNULL, stdout, stderr)):
            if target is None:
                fds.append(number)
            elif target == subprocess.DEVNULL:
                opened.append(os.open(os.devnull, os.O_RDWR))
                fds.append(opened[-1])
            elif target == subprocess.PIPE:
                capture = tempfile.TemporaryFile()
                self._captured[number] = capture
                fds.append(capture.fileno())
            else:
                fds.append(target)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(_server_socket())
        _send(self._sock, {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "setsid": start_new_session}, fds)
        for fd in opened:
            os.close(fd)
        reply, _ = _receive(self._sock)
        if reply is None or "pid" not in reply:
            raise RuntimeError(f"the test launcher's server refused {argv}: {reply}")
        self.pid = reply["pid"]

    def poll(self):
        if self._real is not None:
            self.returncode = self._real.poll()
        elif self.returncode is None:
            self._sock.setblocking(False)
            try:
                self._finish()
            except BlockingIOError:
                pass
            finally:
                if self.returncode is None:
                    self._sock.setblocking(True)
        return self.returncode

    def _finish(self):
        reply, _ = _receive(self._sock)
        self._sock.close()
        if reply is None:
            raise RuntimeError("the test launcher's server died")
        self.returncode = reply["returncode"]

    def wait(self, timeout=None):
        if self._real is not None:
            self.returncode = self._real.wait(timeout)
        elif self.returncode is None:
            self._sock.settimeout(timeout)
            try:
                self._finish()
            except (socket.timeout, TimeoutError):
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, 9)

    def communicate(self, timeout=None):
        """Waits (killing the command when ``timeout`` passes, then raising TimeoutExpired, as
        subprocess.run does); returns the captured (stdout, stderr) text, None where not captured."""
        if self._real is not None:
            return self._real.communicate(timeout=timeout)
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.wait()
            raise
        texts = []
        for number in (1, 2):
            capture = self._captured.pop(number, None)
            if capture is None:
                texts.append(None)
                continue
            capture.seek(0)
            texts.append(capture.read().decode(errors="replace"))
            capture.close()
        return tuple(texts)


def run(argv, env, cwd=REPO, timeout=300):
    """``argv`` is ``["-m", module, *args]`` or ``[script, *args]``; returns a
    subprocess.CompletedProcess with text stdout/stderr (raises subprocess.TimeoutExpired)."""
    process = Popen(argv, env, cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def python_shim(folder):
    """Writes ``folder/python``, an executable that runs its arguments as ``python ARGS`` forked
    from this process's server (for shell scripts: ``PYTHON=...``); returns its path and the
    environment variable it needs."""
    return _write_shim(folder), {SOCKET_VARIABLE: _server_socket()}


def _write_shim(folder):
    path = os.path.join(str(folder), "python")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec {sys.executable} {os.path.abspath(__file__)} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def _shim_main():
    """``python tests/launcher.py ARGS``: ARGS forked from the server named by the environment,
    with this process's argv, environment, working directory and standard streams; a real
    interpreter when the environment needs one (or no server is named)."""
    path = os.environ.get(SOCKET_VARIABLE)
    reply = None
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        _send(sock, {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "setsid": False}, [0, 1, 2])
        reply, _ = _receive(sock)
    if reply is None or "pid" not in reply:
        os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
    reply, _ = _receive(sock)
    code = 1 if reply is None else reply["returncode"]
    if code < 0:  # killed by a signal: end the same way
        os.kill(os.getpid(), -code)
    sys.exit(code)


def serve(path):
    """The server: imports PRELOAD, then forks a child per connection on the Unix socket
    ``path`` (the request: argv, env, cwd, setsid and three file descriptors), answers
    ``{"pid"}`` at once and ``{"returncode"}`` when the child ends; kills a child whose caller
    went away (its connection closed first, as when a shim is killed); exits when stdin closes
    (its pytest process ended).

    In a child, ``sys.executable`` is a shim of this server: the Python processes a command
    starts that way (Apache Beam's worker processes: ``sys.executable -m
    apache_beam.runners.worker.sdk_worker_main``) fork from here too instead of importing
    TensorFlow again (110 s of the suite's CPU). multiprocessing's spawned workers, which need
    inherited pipes, keep the real interpreter."""
    import importlib
    import select

    for name in PRELOAD:
        importlib.import_module(name)
    for name in PRELOAD_IF_INSTALLED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import gc

    # The imported modules' objects move to the collector's permanent generation: no collection
    # in a child traverses them again, the interpreter's exit included (a command's exit took
    # 1.0 s, 0.2 s so). They live as long as the process anyway.
    gc.freeze()
    environ = dict(os.environ)
    shim = _write_shim(os.path.dirname(path))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    print("ready", flush=True)
    children = {}  # pid -> the connection waiting for its exit
    sessions = set()  # the children that lead a session (and a process group) of their own
    while True:
        waiting = {connection: pid for pid, connection in children.items() if connection is not None}
        readable, _, _ = select.select([listener, sys.stdin, *waiting], [], [], 0.01)
        if sys.stdin in readable and not sys.stdin.readline():
            for pid in children:
                os.kill(pid, 9)
            return
        for connection in set(readable) & set(waiting):  # the caller sends nothing more: it went away
            pid = waiting[connection]
            connection.close()
            children[pid] = None
            try:
                os.killpg(pid, 9) if pid in sessions else os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if listener in readable:
            connection, _ = listener.accept()
            message, fds = _receive(connection, max_fds=3)
            if message is None or len(fds) != 3 or not forkable(message["env"], environ):
                _send(connection, {"refused": "needs a real interpreter"}, [])
                connection.close()
                for fd in fds:
                    os.close(fd)
            else:
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    for other in children.values():
                        if other is not None:
                            other.close()
                    connection.close()
                    _become(message, fds, shim, path)  # returns only through SystemExit or an exception
                for fd in fds:
                    os.close(fd)
                _send(connection, {"pid": pid}, [])
                children[pid] = connection
                if message["setsid"]:
                    sessions.add(pid)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            connection = children.pop(pid, None)
            sessions.discard(pid)
            if connection is not None:
                try:
                    _send(connection, {"returncode": os.waitstatus_to_exitcode(status)}, [])
                except OSError:  # the caller went away
                    pass
                connection.close()


def _become(message, fds, shim, socket_path):
    import multiprocessing
    import runpy

    if message["setsid"]:
        os.setsid()
    os.environ.clear()
    os.environ.update(message["env"])
    os.environ[SOCKET_VARIABLE] = socket_path
    multiprocessing.set_executable(sys.executable)  # spawned workers need the real interpreter
    sys.executable = shim  # (sys._base_executable stays the real one)
    os.chdir(message["cwd"])
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    paths = [p for p in message["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    argv = message["argv"]
    if argv[0] == "-m":
        sys.path[0] = message["cwd"]  # as python -m puts the working directory first
        sys.path[1:1] = [p for p in paths if p not in sys.path]
        sys.argv = [argv[1], *argv[2:]]  # runpy puts the module's file name in argv[0]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.path[0] = ""  # as python -c puts the working directory first
        sys.path[1:1] = [p for p in paths if p not in sys.path]
        sys.argv = ["-c", *argv[2:]]
        import __main__

        exec(compile(argv[1], "<string>", "exec"), vars(__main__))
    else:
        script = os.path.abspath(argv[0])
        sys.path[0] = os.path.dirname(script)  # as python SCRIPT does
        sys.path[1:1] = [p for p in paths if p not in sys.path]
        sys.argv = [script, *argv[1:]]
        runpy.run_path(script, run_name="__main__")
    sys.exit(0)


if __name__ == "__main__":
    _shim_main()
