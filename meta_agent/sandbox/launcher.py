"""The in-sandbox launcher: runs the script in a forked child and reports how it ended.

Copied next to the script (``/sandbox/_launcher.py``) and run as the sandbox's first
process (``_launcher.py SCRIPT [DEADLINE_S]``); standard library only, because it runs inside images without the project.
The child runs the script with ``runpy`` (one interpreter start, not two); the parent waits
with ``wait4`` and prints one marker line on stderr with the exit code, the signal, the
child's peak resident memory (``ru_maxrss``) and whether Python raised ``MemoryError``.

The marker is informational (peak memory, MemoryError): a script could print a fake one
before being killed, so runners trust the engine's OOM flag and their own timers first.
"""

import json
import os
import runpy
import signal
import sys
import traceback

MARKER = "@@meta-agent-launcher@@ "


def _child(script: str, flag_fd: int) -> None:
    sys.argv = [script]
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code & 0xFF
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except MemoryError:
        try:
            os.write(flag_fd, b"M")
        except OSError:
            pass
        traceback.print_exc()
        code = 1
    except BaseException:  # noqa: BLE001 — report everything the script raises
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001,S110 — a closed stream cannot be flushed; exit anyway
            pass
    os._exit(code)


def main() -> int:
    script = sys.argv[1]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(script, write_fd)
    os.close(write_fd)
    # Forward termination requests to the script (pid 1 in a container ignores them otherwise).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    # Our own deadline: the sandbox ends even if the caller that should stop it has died.
    timed_out = []
    if len(sys.argv) > 2 and float(sys.argv[2]) > 0:
        def _deadline(_s, _f):
            timed_out.append(True)
            os.kill(pid, signal.SIGKILL)

        signal.signal(signal.SIGALRM, _deadline)
        signal.alarm(max(1, int(float(sys.argv[2]) + 0.999)))
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    memory_error = False
    try:
        memory_error = os.read(read_fd, 1) == b"M"
    except OSError:
        pass
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + (sig or 0)
    if timed_out:
        code = 124
    report = {"exit_code": code, "signal": sig, "maxrss_kb": usage.ru_maxrss,
              "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "memory_error": memory_error,
              "deadline_hit": bool(timed_out)}
    sys.stdout.flush()
    sys.stderr.write(MARKER + json.dumps(report) + "\n")
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
