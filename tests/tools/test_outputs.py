"""outputs.py: exports go by bare file name into the results directory, never anywhere else.

Real files in tmp_path: symlinks, hard links, FIFOs and directories planted at an output name
are refused (and what they point to is left untouched); names that are not bare are refused."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path, PurePosixPath

import pytest

from meta_agent.tools import ToolInputError, ToolPathError
from meta_agent.tools import outputs as out

CSV = (".csv",)




@pytest.fixture
def outside(tmp_path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    return d


def write(name, data=b"a,b\n1,2\n", ext=CSV):
    return out.write_output(name, data, tool="export_to_csv", extensions=ext)


# ---------------------------------------------------------------------- names


def test_a_bare_name_is_written_into_the_results_directory(results):
    assert write("dscr.csv") == "dscr.csv"
    assert (results / "dscr.csv").read_bytes() == b"a,b\n1,2\n"
    assert write(PurePosixPath("ltv_2024.v2.csv"), "x\n") == "ltv_2024.v2.csv"  # a bare Path, and str data
    assert (results / "ltv_2024.v2.csv").read_text() == "x\n"
    assert sorted(p.name for p in results.iterdir()) == ["dscr.csv", "ltv_2024.v2.csv"]
    assert write("DSCR.CSV") == "DSCR.CSV"  # the extension check ignores case


def test_rewriting_truncates_and_the_mode_is_0644(results):
    write("a.csv", b"x" * 1000)
    write("a.csv", b"short")
    assert (results / "a.csv").read_bytes() == b"short"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((results / "a.csv").stat().st_mode) == 0o644 & ~umask


@pytest.mark.parametrize("name", [
    "out/../../x.csv", "../x.csv", "..", "a/../b.csv", "sub/x.csv", "./x.csv", "x..csv", "..csv",
    "/etc/passwd.csv", "/tmp/x.csv", "//x.csv",
    "a\\b.csv", "..\\..\\x.csv", "C:\\x.csv", "C:x.csv",
    "x.csv\x00.txt", "\x00", "x\x00.csv",
    ".hidden.csv", ".csv", "-rf.csv", "_x.csv", " x.csv", "x .csv", "x.csv ", "x.csv\n", "\nx.csv", "x\tb.csv",
    "ｄscr.csv", "dscr．csv", "dscr\u2024csv", "dscr.csv\u200b", "\u202ecsv.exe", "dscr.сsv", "é.csv",
    "~/x.csv", "$HOME.csv", "x*.csv", "x?.csv", "x:y.csv", "x;rm.csv", "x|y.csv",
], ids=repr)
def test_names_that_are_not_bare_are_refused(results, name):
    with pytest.raises(ToolPathError) as exc:
        write(name)
    assert exc.value.tool == "export_to_csv" and exc.value.errors[0].startswith("path: ")
    assert "bare file name" in exc.value.errors[0] and '"report.csv"' in exc.value.errors[0]
    assert list(results.iterdir()) == []


def test_the_message_names_tool_argument_and_fix():
    with pytest.raises(ToolPathError) as exc:
        out.check_output_name("out/../../x.csv", tool="export_to_csv", argument="path", extensions=CSV)
    assert str(exc.value).startswith("export_to_csv: path: 'out/../../x.csv' must be a bare file name such as "
                                      '"report.csv"')
    assert "results directory by name only" in str(exc.value)
    assert isinstance(exc.value, ToolInputError)


@pytest.mark.parametrize("name", [Path("/tmp/x.csv"), Path("sub/x.csv"), PurePosixPath("../x.csv")], ids=str)
def test_path_objects_must_be_bare_names_too(results, name):
    with pytest.raises(ToolPathError, match="must be a bare file name"):
        write(name)


@pytest.mark.parametrize(("name", "fragment"), [
    ("", "is empty"),
    ("a" * 117 + ".csv", "at most 120"),
    ("report.exe", "must end with .csv"),
    ("report", "must end with .csv"),
    ("report.csv.exe", "must end with .csv"),
    ("report.xlsx", "must end with .csv"),
    (None, "not NoneType"),
    (123, "not int"),
    (b"x.csv", "not bytes"),
])
def test_empty_long_wrong_extension_and_non_strings(results, name, fragment):
    with pytest.raises(ToolPathError, match=fragment):
        write(name)
    assert list(results.iterdir()) == []


def test_the_longest_allowed_name_is_written(results):
    name = "a" * 116 + ".csv"
    assert len(name) == 120 and write(name) == name and (results / name).is_file()


# ------------------------------------------------------ what is at the name


def test_a_symlink_to_a_file_outside_is_refused_and_the_target_untouched(results, outside):
    target = outside / "victim.csv"
    target.write_bytes(b"precious")
    (results / "dscr.csv").symlink_to(target)
    with pytest.raises(ToolPathError, match="is a symlink"):
        write("dscr.csv")
    assert target.read_bytes() == b"precious"


def test_a_dangling_symlink_is_refused_and_nothing_created(results, outside):
    (results / "dscr.csv").symlink_to(outside / "created.csv")
    with pytest.raises(ToolPathError, match="is a symlink"):
        write("dscr.csv")
    assert list(outside.iterdir()) == []


def test_a_symlink_raced_in_after_the_check_is_refused_by_o_nofollow(results, outside, monkeypatch):
    """lstat says 'nothing there', then a symlink appears: the open itself refuses it."""
    target = outside / "victim.csv"
    target.write_bytes(b"precious")
    (results / "dscr.csv").symlink_to(target)
    real_lstat = os.lstat

    def blind_lstat(path, *a, **kw):
        if path == "dscr.csv":
            raise FileNotFoundError(path)
        return real_lstat(path, *a, **kw)

    monkeypatch.setattr(out.os, "lstat", blind_lstat)
    with pytest.raises(ToolPathError, match="cannot write 'dscr.csv'"):
        write("dscr.csv")
    assert target.read_bytes() == b"precious"


def test_a_hard_link_to_a_file_outside_is_refused_and_not_truncated(results, outside):
    target = outside / "victim.csv"
    target.write_bytes(b"precious")
    os.link(target, results / "dscr.csv")
    with pytest.raises(ToolPathError, match="2 hard links"):
        write("dscr.csv")
    assert target.read_bytes() == b"precious"  # refused before anything was truncated


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(results):
    os.mkfifo(results / "dscr.csv")
    start = time.monotonic()
    with pytest.raises(ToolPathError, match="is a FIFO"):
        write("dscr.csv")
    assert time.monotonic() - start < 5


@pytest.mark.timeout(20)
def test_a_fifo_raced_in_after_the_check_does_not_block(results, monkeypatch):
    """Even if the lstat check is beaten, O_NONBLOCK keeps the open from waiting for a reader."""
    os.mkfifo(results / "dscr.csv")
    real_lstat = os.lstat
    monkeypatch.setattr(out.os, "lstat", lambda p, *a, **kw: (_ for _ in ()).throw(FileNotFoundError(p))
                        if p == "dscr.csv" else real_lstat(p, *a, **kw))
    with pytest.raises(ToolPathError, match="dscr.csv"):
        write("dscr.csv")


def test_a_directory_with_that_name_is_refused(results):
    (results / "dscr.csv").mkdir()
    with pytest.raises(ToolPathError, match="is a directory"):
        write("dscr.csv")
    assert (results / "dscr.csv").is_dir()


def test_a_unix_socket_with_that_name_is_refused(results):
    import socket

    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(results)  # AF_UNIX paths are limited to ~100 bytes; bind relative to the directory
    try:
        sock.bind("s.csv")
    finally:
        os.chdir(cwd)
    try:
        with pytest.raises(ToolPathError, match="is a socket"):
            write("s.csv")
    finally:
        sock.close()


def test_open_output_gives_a_writable_file_object(results):
    with out.open_output("a.csv", tool="t", extensions=CSV, binary=False) as fh:
        fh.write("x,y\n")
    with out.open_output("b.csv", tool="t", extensions=CSV) as fh:
        fh.write(b"1,2\n")
    assert (results / "a.csv").read_text() == "x,y\n" and (results / "b.csv").read_bytes() == b"1,2\n"


# ---------------------------------------------------------- the directory


def test_results_dir_unset_missing_or_not_a_directory(tmp_path, monkeypatch):
    out._reset_cache()
    monkeypatch.delenv("META_AGENT_RESULTS_DIR", raising=False)
    with pytest.raises(ToolPathError, match="META_AGENT_RESULTS_DIR is not set"):
        out.results_dir()
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(tmp_path / "nope"))
    with pytest.raises(ToolPathError, match="does not exist"):
        out.results_dir()
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(tmp_path / "file"))
    with pytest.raises(ToolPathError, match="is not a directory"):
        write("x.csv")
    assert (tmp_path / "file").read_text() == "x"


def test_results_dir_that_is_a_symlink_is_refused(tmp_path, outside, monkeypatch):
    out._reset_cache()
    (tmp_path / "link").symlink_to(outside)
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(tmp_path / "link"))
    with pytest.raises(ToolPathError, match="is a symlink"):
        write("x.csv")
    assert list(outside.iterdir()) == []


def test_results_dir_is_resolved_once(results):
    first = out.results_dir()
    assert first == results.resolve() and out.results_dir() is first


def test_a_results_dir_swapped_for_a_symlink_is_not_followed(results, outside):
    out.results_dir()  # resolved, as at the start of a run
    results.rename(results.parent / "moved")
    results.symlink_to(outside)  # the same path now points elsewhere
    with pytest.raises(ToolPathError, match="not a symlink"):
        write("dscr.csv")
    assert list(outside.iterdir()) == []


def test_a_missing_results_dir_is_reported_under_the_calling_tool(monkeypatch):
    out._reset_cache()
    monkeypatch.delenv("META_AGENT_RESULTS_DIR", raising=False)
    with pytest.raises(ToolPathError) as exc:
        write("x.csv")
    assert exc.value.tool == "export_to_csv" and "META_AGENT_RESULTS_DIR is not set" in str(exc.value)
