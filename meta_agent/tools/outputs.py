"""Where export tools write: by bare file name, into the run's results directory, nowhere else.

A generated script names an output (``"dscr.csv"``); it never chooses a directory. The
directory is the run's ``META_AGENT_RESULTS_DIR`` (set by the sandbox), read once per process.

- ``check_output_name``: a bare file name (``^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$``, no ``/``,
  ``\\``, ``..``, not dot-leading) with an allowed extension, or ``ToolPathError``.
- ``open_output``: opens ``results_dir()/name`` for writing (``O_WRONLY|O_CREAT|O_NOFOLLOW|
  O_CLOEXEC``, mode 0o644, truncated only after the checks below) relative to a
  directory fd of the results directory (so neither a symlink planted at the name nor a swapped
  directory redirects the write), then checks with ``fstat`` that it is a regular file with one
  link (a hard link to a file elsewhere is refused). A FIFO or device at the name is refused
  without blocking (``O_NONBLOCK`` on the open; the flag is cleared on the regular file).
- ``write_output``: the same, writing ``bytes`` or ``str`` in one call.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePath
from typing import IO, Any

from meta_agent.tools.base import ToolPathError

RESULTS_ENV = "META_AGENT_RESULTS_DIR"
MAX_NAME_CHARS = 120
_NAME_BODY = r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}"
NAME_RE = re.compile(_NAME_BODY)  # use with fullmatch (is_bare_name)
NAME_PATTERN = f"^{_NAME_BODY}$"  # the same, for a JSON Schema "pattern"

_resolved: tuple[str, Path] | None = None  # (env value, resolved directory)


def results_dir(*, tool: str = "results_dir") -> Path:
    """The run's results directory (``$META_AGENT_RESULTS_DIR``), resolved once; it must exist,
    be a directory and not be a symlink. Raises ``ToolPathError`` (naming ``tool``) otherwise."""
    global _resolved
    raw = os.environ.get(RESULTS_ENV, "")
    if _resolved is not None and _resolved[0] == raw:
        return _resolved[1]
    if not raw:
        raise ToolPathError(tool, [f"{RESULTS_ENV} is not set; exports write only into the run's results "
                                   "directory, which the sandbox sets"])
    given = Path(raw)
    try:
        st = os.lstat(given)
    except OSError:
        raise ToolPathError(tool, [f"{RESULTS_ENV}={raw!r} does not exist; create the results directory "
                                   "before running the script"]) from None
    if stat.S_ISLNK(st.st_mode):
        raise ToolPathError(tool, [f"{RESULTS_ENV}={raw!r} is a symlink; the results directory must be a real "
                                   "directory"])
    if not stat.S_ISDIR(st.st_mode):
        raise ToolPathError(tool, [f"{RESULTS_ENV}={raw!r} is not a directory"])
    resolved = given.resolve()
    _resolved = (raw, resolved)
    return resolved


def _reset_cache() -> None:
    """Forget the resolved results directory (tests change ``META_AGENT_RESULTS_DIR``)."""
    global _resolved
    _resolved = None


def _example(extensions: tuple[str, ...]) -> str:
    return "report" + (extensions[0] if extensions else ".csv")


def is_bare_name(name: str) -> bool:
    """``name`` is a bare file name: letters, digits, '.', '_' and '-', not starting with '.', no
    '..' — what every output name must be (the tools here, the validator on literal names)."""
    return ".." not in name and NAME_RE.fullmatch(name) is not None


def check_output_name(name: Any, *, tool: str, argument: str = "path", extensions: tuple[str, ...]) -> str:
    """``name`` as a bare file name with one of ``extensions`` (e.g. ``(".csv",)``), or
    ``ToolPathError`` naming the tool, the argument and the fix."""
    exts = tuple(e.lower() for e in extensions)
    example = f'"{_example(exts)}"'
    why = "outputs go to the run's results directory by name only"
    if isinstance(name, PurePath):
        if len(name.parts) != 1 or name.is_absolute() or str(name) != name.name:
            raise ToolPathError(tool, [f"{argument}: {str(name)!r} must be a bare file name such as {example} ({why})"])
        name = name.name
    if not isinstance(name, str):
        raise ToolPathError(tool, [f"{argument}: must be a file name (a string) such as {example}, "
                                   f"not {type(name).__name__}"])
    if name == "":
        raise ToolPathError(tool, [f"{argument}: is empty; give a bare file name such as {example}"])
    if len(name) > MAX_NAME_CHARS:
        raise ToolPathError(tool, [f"{argument}: is {len(name)} characters long; a file name may have at most "
                                   f"{MAX_NAME_CHARS}, such as {example}"])
    if not is_bare_name(name):
        raise ToolPathError(tool, [f"{argument}: {name!r} must be a bare file name such as {example} "
                                   f"(letters, digits, '.', '_' and '-', not starting with '.'; {why})"])
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in exts:
        raise ToolPathError(tool, [f"{argument}: {name!r} must end with {' or '.join(exts)}, "
                                   f"such as {example}"])
    return name


def open_output(name: Any, *, tool: str, argument: str = "path", extensions: tuple[str, ...],
                binary: bool = True) -> IO[Any]:
    """A writable file object for ``results_dir()/name`` (truncated), opened so that a symlink,
    hard link, FIFO, device or directory at ``name`` is refused with ``ToolPathError``."""
    return _open_checked(check_output_name(name, tool=tool, argument=argument, extensions=extensions),
                         tool=tool, argument=argument, binary=binary)


def _open_checked(name: str, *, tool: str, argument: str, binary: bool) -> IO[Any]:
    """``open_output`` for a name ``check_output_name`` has already passed."""
    root = results_dir(tool=tool)
    try:
        dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ToolPathError(tool, [f"{argument}: cannot open the results directory ({exc.strerror}); "
                                   "it must be a real directory, not a symlink"]) from None
    try:
        # No O_TRUNC here: a hard link to a file elsewhere must be refused before anything is
        # truncated; the file is truncated with ftruncate once fstat has vetted it.
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            st = os.lstat(name, dir_fd=dir_fd)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise ToolPathError(tool, [_not_regular(argument, name, st.st_mode)])
        try:
            fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
        except OSError as exc:
            raise ToolPathError(tool, [f"{argument}: cannot write {name!r} in the results directory "
                                       f"({exc.strerror}); a symlink, directory or special file has that name — "
                                       "choose another file name"]) from None
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ToolPathError(tool, [_not_regular(argument, name, st.st_mode)])
        if st.st_nlink != 1:
            raise ToolPathError(tool, [f"{argument}: {name!r} in the results directory has {st.st_nlink} hard "
                                       "links; outputs must be new files of their own — choose another file name"])
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        raw = os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""}))
    except BaseException:
        os.close(fd)
        raise
    return raw


def _not_regular(argument: str, name: str, mode: int) -> str:
    kind = ("a symlink" if stat.S_ISLNK(mode) else "a directory" if stat.S_ISDIR(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return (f"{argument}: {name!r} in the results directory is {kind}; outputs are written only as regular "
            "files — choose another file name")


def write_output(name: Any, data: bytes | str, *, tool: str, argument: str = "path",
                 extensions: tuple[str, ...]) -> str:
    """Write ``data`` (``bytes``, or ``str`` as UTF-8) to ``results_dir()/name``; returns the name."""
    checked = check_output_name(name, tool=tool, argument=argument, extensions=extensions)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with _open_checked(checked, tool=tool, argument=argument, binary=True) as fh:
        fh.write(payload)
    return checked


__all__ = ["MAX_NAME_CHARS", "NAME_PATTERN", "RESULTS_ENV", "check_output_name", "is_bare_name", "open_output",
           "results_dir", "write_output"]
