"""`make run`'s process runner: honcho, stopping quietly and completely on Ctrl-C.

`honcho start` stops its processes with SIGTERM to each one's whole process group, so a
Celery worker's pool processes were killed under it and it logged an ERROR line for each
("Process 'ForkPoolWorker-1' … exited with 'signal 15 (SIGTERM)'"); a worker still finishing
was killed after 5 s; and honcho exited 130, which make reported as `Error 130`. Here each
process is asked to stop itself (SIGTERM to the process alone: a worker's warm shutdown ends
its pool), is given GRACE_SECONDS before its group is killed, and a stop you asked for (Ctrl-C,
SIGTERM) exits 0. A process that ends by itself still stops the others, and its exit status
is the runner's.

    python -m reachkit.devrun --port 8000 [--procfile Procfile]

A simple Procfile command (one program and its arguments, as all of ours) runs as
`sh -c "exec …"`: the shell replaces itself with the program (dash, /bin/sh on Debian, would
otherwise stay above it and take the SIGTERM alone). A command with `;`, `&&`, a pipe… is
left to its shell and stopped as honcho does, with SIGTERM to its group.
"""

import argparse
import errno
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from honcho import environ, manager
from honcho.compat import ProcessManager
from honcho.printer import Printer

GRACE_SECONDS = 20
# honcho's Manager.loop reads the wait before SIGKILL from its module.
manager.KILL_WAIT = GRACE_SECONDS
STOPPED_BY_SIGNAL = {130, 143}  # honcho's return codes for SIGINT and SIGTERM


# Shell syntax beyond one command and its arguments: operators, subshells, substitutions.
_COMPOUND = re.compile(r"[;&|()<>`\n]|\$\(")


def is_simple(command: str) -> bool:
    return not _COMPOUND.search(command)


class _AskEachProcess(ProcessManager):  # type: ignore[misc]  # honcho is untyped
    """SIGTERM to the program alone when it has replaced its shell, else to its group (as
    honcho does); SIGKILL (after the grace period) to its whole group."""

    def __init__(self, alone: Callable[[int], bool]) -> None:
        self._alone = alone

    def terminate(self, pid: int) -> None:
        if not self._alone(pid):
            super().terminate(pid)
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ESRCH):
                raise


class Runner(manager.Manager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._procmgr = _AskEachProcess(alone=self._execs_itself)
        self._exec_names: set[str] = set()
        self.stop_asked = False

    def add_command(self, name: str, command: str, env: dict[str, str]) -> None:
        if is_simple(command):
            self._exec_names.add(name)
            command = f"exec {command}"
        self.add_process(name, command, env=env)

    def _execs_itself(self, pid: int) -> bool:
        return any(
            process.get("pid") == pid and name in self._exec_names
            for name, process in self._processes.items()
        )

    def terminate(self) -> None:
        # Called once a signal came (honcho has set its return code) or a process ended by
        # itself; only the first call counts.
        if not self._terminating and self.returncode in STOPPED_BY_SIGNAL:
            self.stop_asked = True
        super().terminate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", default="Procfile", type=Path)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    args = parser.parse_args(argv)

    procfile = environ.parse_procfile(args.procfile.read_text())
    runner = Runner(Printer(sys.stdout))
    for process in environ.expand_processes(procfile.processes, port=args.port):
        runner.add_command(process.name, process.cmd, env={**os.environ, **process.env})
    runner.loop()
    if runner.stop_asked:
        return 0
    return int(runner.returncode or 0)


if __name__ == "__main__":
    sys.exit(main())
