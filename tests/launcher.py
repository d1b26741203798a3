"""Runs ``python -m MODULE ARGS`` (or ``python SCRIPT ARGS``) for the tests without paying
TensorFlow's import each time.

Most of the suite's command tests spend 5-6 s of CPU importing TensorFlow and Keras before the
command does anything. A server process per pytest process imports them once (and nothing of
tfcolor or data_prep), then forks a child per command: the child sets the command's
environment, working directory, argv and standard streams and runs the module as ``__main__``
with ``runpy``, exactly as ``python -m`` would; its exit (SystemExit, an uncaught traceback,
atexit handlers) is the interpreter's own. TensorFlow has started no runtime at import (no
eager context, no thread pools), so the fork is safe; the child starts its runtime itself.

A command whose environment changes a variable read when TensorFlow is imported (TF_*, XLA_*,
CUDA_*, OMP_*, KMP_*, MKL_*, PYTHON* but PYTHONPATH) runs as a real subprocess instead, as does
everything when TFCOLOR_TEST_FORK=0. Commands that a test kills or runs concurrently use
subprocess directly.
"""

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRELOAD = ("tensorflow", "keras", "numpy", "PIL.Image", "matplotlib.pyplot", "absl.app", "absl.flags")
_IMPORT_TIME_PREFIXES = ("TF_", "XLA_", "CUDA_", "OMP_", "KMP_", "MKL_", "PYTHON")

_server = None
_server_environ = None  # the environment the server imported TensorFlow under
_lock = threading.Lock()


def command_env(**extra):
    """The environment the tests run commands in: the repository importable, TensorFlow's
    C++ logging quiet, plus ``extra``."""
    return dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", **extra)


def run(argv, env, cwd=REPO, timeout=300):
    """``argv`` is ``["-m", module, *args]`` or ``[script, *args]``; returns a
    subprocess.CompletedProcess with text stdout/stderr (raises subprocess.TimeoutExpired)."""
    if not _forkable(env):
        return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    with _lock, tempfile.TemporaryDirectory() as tmp:
        out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        reply = _request({"argv": list(argv), "env": dict(env), "cwd": str(cwd), "stdout": out, "stderr": err,
                          "timeout": timeout})
        with open(out, errors="replace") as f_out, open(err, errors="replace") as f_err:
            stdout, stderr = f_out.read(), f_err.read()
    if reply["timed_out"]:
        raise subprocess.TimeoutExpired([sys.executable, *argv], timeout, stdout, stderr)
    return subprocess.CompletedProcess([sys.executable, *argv], reply["returncode"], stdout, stderr)


def _forkable(env):
    if os.environ.get("TFCOLOR_TEST_FORK", "1") == "0" or not hasattr(os, "fork"):
        return False
    base = _server_environ if _server is not None and _server.poll() is None else command_env()
    for key in set(env) | set(base):
        if key.startswith(_IMPORT_TIME_PREFIXES) and key != "PYTHONPATH" and env.get(key) != base.get(key):
            return False
    return True


def _request(message):
    global _server, _server_environ
    if _server is None or _server.poll() is not None:
        _server_environ = command_env()
        _server = subprocess.Popen([sys.executable, "-c", "from tests.launcher import serve; serve()"], cwd=REPO,
                                   env=_server_environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        atexit.register(_server.kill)
    _server.stdin.write(json.dumps(message) + "\n")
    _server.stdin.flush()
    line = _server.stdout.readline()
    if not line:
        raise RuntimeError("the test launcher's server died")
    return json.loads(line)


def serve():
    """The server: imports PRELOAD, then forks a child per request line on stdin and answers
    each with its exit status on stdout."""
    import importlib
    import time

    for name in PRELOAD:
        importlib.import_module(name)
    replies = os.fdopen(os.dup(1), "w")
    requests = sys.stdin
    while True:
        line = requests.readline()
        if not line:
            return
        message = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            replies.close()
            _become(message)  # returns only through SystemExit or an exception: the interpreter's exit
        deadline = time.monotonic() + message["timeout"]
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                _, status = os.waitpid(pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out}) + "\n")
        replies.flush()


def _become(message):
    import runpy

    os.environ.clear()
    os.environ.update(message["env"])
    os.chdir(message["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, path in ((1, message["stdout"]), (2, message["stderr"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    paths = [p for p in message["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    argv = message["argv"]
    if argv[0] == "-m":
        sys.path[0] = message["cwd"]  # as python -m puts the working directory first
        sys.path[1:1] = [p for p in paths if p not in sys.path]
        sys.argv = [argv[1], *argv[2:]]  # runpy puts the module's file name in argv[0]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        script = os.path.abspath(argv[0])
        sys.path[0] = os.path.dirname(script)  # as python SCRIPT does
        sys.path[1:1] = [p for p in paths if p not in sys.path]
        sys.argv = [script, *argv[1:]]
        runpy.run_path(script, run_name="__main__")
    sys.exit(0)
