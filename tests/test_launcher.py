"""tests/launcher.py: a command forked from the server ends, prints and exits as the same
command in a fresh interpreter does."""

import os
import subprocess
import sys

import pytest

from tests import launcher
from tests.conftest import REPO

SCRIPT = """
import os, sys
print("argv", sys.argv[1:], "cwd", os.getcwd(), "path0", sys.path[0], "env", os.environ.get("LAUNCHER_TEST"))
print("to stderr", file=sys.stderr)
if sys.argv[1] == "raise":
    raise ValueError("boom")
if sys.argv[1] == "message":
    sys.exit("a message")
sys.exit(int(sys.argv[1]))
"""


def both(argv, env, cwd=REPO):
    forked = launcher.run(argv, env, cwd=cwd)
    real = subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return forked, real


@pytest.mark.slow
def test_forked_commands_exit_and_print_as_real_ones(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = launcher.command_env(LAUNCHER_TEST="set")
    for arg, code in (("0", 0), ("3", 3), ("message", 1), ("raise", 1)):
        forked, real = both([str(script), arg], env, cwd=tmp_path)
        assert forked.returncode == real.returncode == code
        assert forked.stdout == real.stdout and f"cwd {tmp_path} path0 {tmp_path} env set" in forked.stdout
        assert forked.stderr.splitlines()[0] == real.stderr.splitlines()[0] == "to stderr"
        assert forked.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]  # the message, the exception
    forked, real = both(["-m", "tfcolor.train", "--help"], launcher.command_env())
    assert forked.returncode == real.returncode and forked.stdout == real.stdout and "--train" in forked.stdout
    # --helpfull would differ: it lists the absl flags of every imported module, and the server
    # has imported TensorFlow's (tests/test_docs.py runs it in a fresh interpreter).


def test_a_different_tensorflow_environment_runs_a_real_subprocess():
    env = launcher.command_env()
    assert launcher._forkable(env) == (os.environ.get("TFCOLOR_TEST_FORK", "1") != "0")
    assert not launcher._forkable(dict(env, TF_ENABLE_ONEDNN_OPTS="0"))
    assert not launcher._forkable(dict(env, CUDA_VISIBLE_DEVICES=""))
    assert launcher._forkable(dict(env, TF_CONFIG="{}")) == launcher._forkable(env)  # read by the strategy, later
    assert launcher._forkable(dict(env, PYTHONPATH=REPO + os.pathsep + "/elsewhere")) == launcher._forkable(env)


SHIM_SCRIPT = """
import os, sys
print("parent", os.getppid(), "read", sys.stdin.readline().strip(), flush=True)
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


def test_the_shell_shim_forks_with_the_callers_streams_and_exit_status(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SHIM_SCRIPT)
    python, fork = launcher.python_shim(tmp_path)
    for code in (0, 5):
        result = subprocess.run(f"{python} {script} {code} 2> {tmp_path}/err", shell=True, input="line\n",
                                capture_output=True, text=True, env=launcher.command_env(**fork), timeout=120)
        assert result.returncode == code
        parent = int(result.stdout.split()[1])
        assert parent == launcher._server.pid  # forked from the server, not run by the shim itself
        assert result.stdout.split()[2:] == ["read", "line"]
        assert (tmp_path / "err").read_text() == "to stderr\n"
    # A different TensorFlow environment: the shim runs a real interpreter instead.
    result = subprocess.run([python, str(script), "0"], input="x\n", capture_output=True, text=True, timeout=120,
                            env=launcher.command_env(TF_ENABLE_ONEDNN_OPTS="0", **fork))
    assert result.returncode == 0 and int(result.stdout.split()[1]) != launcher._server.pid


def test_forked_commands_run_concurrently_and_die_by_sigkill(tmp_path):
    import signal

    script = tmp_path / "wait.py"
    script.write_text("import sys, time\nprint('started', flush=True)\ntime.sleep(float(sys.argv[1]))\n")
    env = launcher.command_env()
    slow = launcher.Popen([str(script), "60"], env, start_new_session=True, stdout=subprocess.PIPE)
    quick = launcher.Popen([str(script), "0"], env, stdout=subprocess.PIPE)
    assert quick.communicate(timeout=60) == ("started\n", None) and quick.returncode == 0
    assert slow.poll() is None  # still sleeping while the other one ran and ended
    os.killpg(slow.pid, signal.SIGKILL)
    assert slow.wait(timeout=30) == -9
    with pytest.raises(subprocess.TimeoutExpired):
        launcher.run([str(script), "60"], env, timeout=1)




NESTED_SCRIPT = """
import os, subprocess, sys, time
code = "import os, sys, time; print(os.getppid(), 'tensorflow' in sys.modules, os.getpid(), flush=True); time.sleep(60)"
# As Apache Beam starts its worker processes: sys.executable -m ..., through a shell.
quick = code.replace("60", "0")
shell = subprocess.run(f'{sys.executable} -c "{quick}"', shell=True, capture_output=True, text=True)
child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
parent, preloaded, pid = child.stdout.readline().split()
child.kill()  # the process the command started: the one forked for it dies with it
child.wait()
deadline = time.monotonic() + 30
while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
    time.sleep(0.01)
print(shell.stdout.split()[:2], parent, preloaded, "alive" if os.path.exists(f"/proc/{pid}") else "gone")
"""


def test_a_forked_commands_own_python_processes_fork_too_and_die_with_their_starter(tmp_path):
    """sys.executable in a forked command is the server's shim: the Python processes the command
    starts (Beam's worker processes, through a shell) fork from the server, TensorFlow imported;
    killing the process the command started kills the forked one."""
    script = tmp_path / "nested.py"
    script.write_text(NESTED_SCRIPT)
    result = launcher.run([str(script)], launcher.command_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    *through_shell, parent, preloaded, state = result.stdout.split()
    if launcher._forkable(launcher.command_env()):
        server = str(launcher._server.pid)
        assert through_shell == [f"['{server}',", "'True']"] and (parent, preloaded) == (server, "True")
    assert state == "gone"
