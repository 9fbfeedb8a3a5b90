"""`make run`'s process runner (reachkit/devrun.py): Ctrl-C asks each process to stop itself,
never signals what runs under it (a Celery worker's pool), and a stop you asked for exits 0."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reachkit.devrun import is_simple

ROOT = Path(__file__).resolve().parents[2]

# Like a Celery worker: a pool process under it that must be stopped by its parent, not by a
# signal to the whole group (which made the worker log an ERROR line for each one).
WORKER = r"""
import os, signal, sys, time
child = os.fork()
if child == 0:
    def hit(*_):
        print("POOL PROCESS SIGNALLED BY THE RUNNER", flush=True)
        os._exit(1)
    signal.signal(signal.SIGTERM, hit)
    while True:
        time.sleep(0.1)
def stop(*_):
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    print("worker stopped its pool", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("worker ready", flush=True)
while True:
    time.sleep(0.1)
"""


def start(tmp_path: Path, procfile: str) -> subprocess.Popen:
    (tmp_path / "Procfile").write_text(procfile)
    return subprocess.Popen(
        [sys.executable, "-m", "reachkit.devrun", "--procfile", str(tmp_path / "Procfile")],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(process: subprocess.Popen, text: str, seconds: float = 30) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never came: {lines}")


def test_ctrl_c_stops_each_process_by_itself_and_exits_0(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    runner = start(tmp_path, f"worker: {sys.executable} {script}\nidle: sleep 600\n")
    try:
        wait_for(runner, "worker ready")
        runner.send_signal(signal.SIGINT)
        output, _ = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    assert runner.returncode == 0, output
    assert "worker stopped its pool" in output
    assert "POOL PROCESS SIGNALLED BY THE RUNNER" not in output
    assert "SIGKILL" not in output


def test_a_process_that_ends_by_itself_stops_the_others_with_its_status(tmp_path):
    broken = f"{sys.executable} -c 'import sys, time; time.sleep(1); sys.exit(3)'"
    # A compound command stays under its shell and is stopped with its group, as by honcho.
    runner = start(tmp_path, f"broken: {broken}\nidle: sleep 600; true\n")
    try:
        output, _ = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    assert runner.returncode == 3, output
    assert "idle.1 stopped" in output
    assert "SIGKILL" not in output


def test_only_one_command_with_its_arguments_replaces_its_shell():
    assert is_simple("celery -A reachkit worker --loglevel=INFO --hostname=connections@%h")
    assert is_simple("python manage.py mailsink --port ${MAILSINK_PORT:-1025}")
    for compound in ["a; b", "a && b", "a | b", "a &", "(a)", "a > log", "echo $(date)"]:
        assert not is_simple(compound)
