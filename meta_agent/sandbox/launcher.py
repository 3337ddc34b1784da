"""The in-sandbox launcher: runs the script in a forked child and reports how it ended.

Copied next to the script (``/sandbox/_launcher.py``) and run as the sandbox's first
process (``_launcher.py SCRIPT [DEADLINE_S] [--guard]``); standard library only, because it runs inside images without the project.
The child runs the script with ``runpy`` (one interpreter start, not two) — or, with
``--guard``, through the runtime guard: ``importlib.import_module(GUARD_MODULE).run_path(script)``
(RestrictedPython). When the guard cannot be imported the child says so and exits 1: a
guarded run never falls back to an unguarded one. The parent waits
with ``wait4`` and prints one marker line on stderr with the exit code, the signal, the
child's peak resident memory (``ru_maxrss``) and whether Python raised ``MemoryError``.

The marker is informational (peak memory, MemoryError): a script could print a fake one
before being killed, so runners trust the engine's OOM flag and their own timers first.
"""

import importlib
import json
import os
import runpy
import signal
import sys
import traceback

MARKER = "@@meta-agent-launcher@@ "
GUARD_FLAG = "--guard"
GUARD_MODULE = "meta_agent.tools.guard"  # run_path(path) -> None; raises SystemExit like a script


def _guard_runner():
    """The guard's ``run_path``, or None after saying why (the caller exits 1)."""
    try:
        return importlib.import_module(GUARD_MODULE).run_path
    except BaseException as exc:  # noqa: BLE001 — any failure to load the guard ends the run
        print(f"meta-agent launcher: the runtime guard {GUARD_MODULE} cannot be loaded "
              f"({type(exc).__name__}: {exc}); the script is not run without it.", file=sys.stderr)
        return None


def _child(script: str, flag_fd: int, guard: bool = False) -> None:
    sys.argv = [script]
    code = 0
    run_path = None
    if guard:
        run_path = _guard_runner()
        if run_path is None:
            sys.stderr.flush()
            os._exit(1)
    try:
        if run_path is not None:
            run_path(script)
        else:
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
    guard = GUARD_FLAG in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != GUARD_FLAG]
    script = args[0]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(script, write_fd, guard)
    os.close(write_fd)
    # Forward termination requests to the script (pid 1 in a container ignores them otherwise).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    # Our own deadline: the sandbox ends even if the caller that should stop it has died.
    timed_out = []
    if len(args) > 1 and float(args[1]) > 0:
        def _deadline(_s, _f):
            timed_out.append(True)
            os.kill(pid, signal.SIGKILL)

        signal.signal(signal.SIGALRM, _deadline)
        signal.alarm(max(1, int(float(args[1]) + 0.999)))
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
              "deadline_hit": bool(timed_out), "guard": guard}
    sys.stdout.flush()
    sys.stderr.write(MARKER + json.dumps(report) + "\n")
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
