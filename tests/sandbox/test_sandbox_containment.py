"""Containment: hostile scripts, run WITHOUT the validator, straight into each runner.

Each test names the outcome it asserts. Kinds: ``container`` (the boundary), ``bwrap`` (the
local runner with bubblewrap), ``rlimits`` (the local runner without bubblewrap).

What does not apply, and why:
- network, writes outside /results, host secrets: not for ``rlimits`` — a plain subprocess
  shares the host's network and filesystem (docs/isolation.md says so); that is why it is
  the weakest kind and the doctor says so.
- fork bomb: not for ``rlimits`` when the caller is root and the Python installation is not
  world-readable (this machine: /root/.pyenv), because the runner cannot switch to a per-run
  uid and Linux does not enforce RLIMIT_NPROC for root. The test checks which case applies.
- caller crash / orphan sweep and the container's create settings: container only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from meta_agent.sandbox import RunLimits


def kinds(*names: str) -> list:
    return [pytest.param(n, marks=pytest.mark.container) if n == "container" else n for n in names]


ALL = kinds("container", "bwrap", "rlimits")
# These scripts are a person's (provenance "user"), run as the operator's boundary test: under
# local:rlimits the run policy refuses them unless weak isolation is allowed, as here.
AS_OPERATOR = {"provenance": "user", "allow_weak_isolation": True}
ISOLATING = kinds("container", "bwrap")


def script(src: str) -> str:
    return textwrap.dedent(src).lstrip()


def result_of(res) -> dict:
    assert res.result_json is not None, f"no result.json: {res.status} {res.message}\n{res.stderr[-2000:]}"
    return res.result_json


WRITE_RESULT = """
def done(doc):
    import json, os
    with open(os.path.join(os.environ["META_AGENT_RESULTS_DIR"], "result.json"), "w") as fh:
        json.dump(doc, fh)
"""


# --------------------------------------------------------------------------- network
@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_network_connect_fails(runner, tmp_path):
    """Outcome: every connection attempt fails inside the sandbox, and a listener on the
    host's loopback receives nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list = []
    stop = threading.Event()

    def accept_loop():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except TimeoutError:
                continue
            except OSError:
                return

    t = threading.Thread(target=accept_loop, daemon=True)
    t.start()
    src = script(WRITE_RESULT + f"""
import socket
attempts = {{}}
for host, port in [("127.0.0.1", {port}), ("10.0.2.2", 80), ("1.1.1.1", 443), ("192.0.2.1", 80)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        attempts[f"{{host}}:{{port}}"] = "connected"
    except OSError as exc:
        attempts[f"{{host}}:{{port}}"] = f"failed: {{exc}}"
try:
    socket.getaddrinfo("example.com", 443)
    attempts["dns"] = "resolved"
except OSError as exc:
    attempts["dns"] = f"failed: {{exc}}"
attempts["interfaces"] = [name for _, name in socket.if_nameindex()]
done(attempts)
""")
    try:
        res = runner.run(src, {}, RunLimits(timeout_s=60), results_dir=tmp_path / "r", **AS_OPERATOR)
    finally:
        stop.set()
        listener.close()
        t.join(2)
    assert res.status == "succeeded", res.message
    doc = result_of(res)
    for target, outcome in doc.items():
        if target != "interfaces":
            assert outcome.startswith("failed"), f"{target}: {outcome}"
    assert doc["interfaces"] == ["lo"], doc["interfaces"]
    assert accepted == []


# --------------------------------------------------------------------------- filesystem
@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_writing_outside_the_results_directory_fails(runner, tmp_path):
    """Outcome: writes to the script, params, data, /etc, /usr, / and /var fail; only
    /results (and the sandbox's private /tmp) accept writes; host files are unchanged."""
    data = tmp_path / "portfolio.csv"
    data.write_text("id,value\n1,100\n")
    src = script(WRITE_RESULT + """
import os
targets = ["/sandbox/script.py", "/sandbox/params.json", "/sandbox/new.txt", "/data/portfolio.csv",
           "/data/new.txt", "/etc/passwd", "/etc/new.txt", "/usr/new.txt", "/new.txt", "/var/new.txt",
           "/results/ok.txt", "/tmp/ok.txt"]
outcome = {}
for t in targets:
    try:
        with open(t, "a") as fh:
            fh.write("pwned")
        outcome[t] = "written"
    except OSError as exc:
        outcome[t] = f"failed: {exc.strerror}"
try:
    os.symlink("/etc/passwd", "/sandbox/link")
    outcome["symlink in /sandbox"] = "written"
except OSError as exc:
    outcome["symlink in /sandbox"] = f"failed: {exc.strerror}"
done(outcome)
""")
    original = data.read_bytes()
    res = runner.run(src, {}, RunLimits(timeout_s=60), results_dir=tmp_path / "r", data_files=(data,), **AS_OPERATOR)
    assert res.status == "succeeded", res.message
    doc = result_of(res)
    allowed = {"/results/ok.txt", "/tmp/ok.txt"}
    for target, outcome in doc.items():
        if target in allowed:
            assert outcome == "written", (target, outcome)
        else:
            assert outcome.startswith("failed"), (target, outcome)
    assert data.read_bytes() == original
    assert (tmp_path / "r" / "ok.txt").read_text() == "pwned"
    assert not Path("/tmp/ok.txt").exists() or Path("/tmp/ok.txt").read_text() != "pwned"


@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_reading_host_secrets_fails(runner, tmp_path, monkeypatch):
    """Outcome: the caller's environment, a file in /root and the ops DB are not readable:
    the secret appears nowhere the script can look (env, files, /proc)."""
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("META_AGENT_TEST_SECRET", secret)
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    ops_db = tmp_path / "ops.db"
    import sqlite3

    with sqlite3.connect(ops_db) as conn:
        conn.execute("create table secrets (v text)")
        conn.execute("insert into secrets values (?)", (secret,))
    monkeypatch.setenv("META_AGENT_DB_URL", f"sqlite:///{ops_db}")
    root_file = Path("/root") / f".meta-agent-test-secret-{uuid.uuid4().hex[:8]}"
    root_file.write_text(secret)
    try:
        src = script(WRITE_RESULT + f"""
import glob, os
secret = {secret!r}
found = []
if any(secret in v for v in os.environ.values()):
    found.append("environment")
for path in [{str(root_file)!r}, {str(ops_db)!r}, "/root/.bashrc", "/etc/shadow"]:
    try:
        with open(path, "rb") as fh:
            found.append(f"read {{path}}" + (" (secret!)" if secret.encode() in fh.read() else ""))
    except OSError as exc:
        pass
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        with open(path, "rb") as fh:
            if secret.encode() in fh.read():
                found.append(path)
    except OSError:
        pass
try:
    listing = os.listdir("/root")
except OSError:
    listing = None
done({{"found": found, "root_listing": listing, "env_keys": sorted(os.environ)}})
""")
        res = runner.run(src, {}, RunLimits(timeout_s=60), results_dir=tmp_path / "r", **AS_OPERATOR)
    finally:
        root_file.unlink()
    assert res.status == "succeeded", res.message
    doc = result_of(res)
    assert doc["found"] == [], doc["found"]
    assert root_file.name not in (doc["root_listing"] or [])
    assert "META_AGENT_TEST_SECRET" not in doc["env_keys"] and "OPENAI_API_KEY" not in doc["env_keys"]
    assert "META_AGENT_DB_URL" not in doc["env_keys"]


@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_privileges_are_dropped(runner, tmp_path):
    """Outcome: the script runs as an unprivileged uid with no effective capabilities and
    no-new-privileges set, on a read-only root."""
    src = script(WRITE_RESULT + """
import os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
try:
    open("/probe", "w")
    root_rw = True
except OSError:
    root_rw = False
done({"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
      "root_writable": root_rw})
""")
    res = runner.run(src, {}, RunLimits(timeout_s=60), results_dir=tmp_path / "r", **AS_OPERATOR)
    doc = result_of(res)
    assert doc["uid"] != 0
    assert int(doc["cap_eff"], 16) == 0
    assert doc["no_new_privs"] == "1"
    assert doc["root_writable"] is False


# --------------------------------------------------------------------------- resources
@pytest.mark.parametrize("runner", ALL, indirect=True)
def test_memory_bomb_ends_as_out_of_memory(runner, tmp_path):
    """Outcome: status out_of_memory, with a sentence naming the limit."""
    src = script("""
chunks = []
for i in range(200):
    chunks.append(bytearray(16 * 1024 * 1024))  # 16 MB, touched (zero-filled)
    print("allocated", (i + 1) * 16, "MB", flush=True)
print("survived 3.2 GB")
""")
    res = runner.run(src, {}, RunLimits(timeout_s=60, memory_mb=128), results_dir=tmp_path / "r", **AS_OPERATOR)
    assert res.status == "out_of_memory", (res.status, res.message, res.stderr[-500:])
    assert "128 MB" in res.message and "memory" in res.message
    assert "survived" not in res.stdout


@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_fork_bomb_is_stopped_by_the_pids_limit(runner, tmp_path):
    """Outcome: the script cannot hold more processes than the pids limit (fork fails with
    EAGAIN), and the host can still start processes meanwhile and afterwards."""
    src = script(WRITE_RESULT + """
import errno, os, time
children, error = [], None
try:
    for _ in range(5000):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    error = errno.errorcode.get(exc.errno, str(exc.errno))
for pid in children:
    os.kill(pid, 9)
done({"forked": len(children), "error": error})
""")
    res = runner.run(src, {}, RunLimits(timeout_s=60, pids=32), results_dir=tmp_path / "r", **AS_OPERATOR)
    doc = result_of(res)
    assert doc["error"] == "EAGAIN", doc
    assert doc["forked"] < 32, doc
    assert subprocess.run(["true"]).returncode == 0  # the host still forks


@pytest.mark.parametrize("runner", ISOLATING, indirect=True)
def test_classic_fork_bomb_ends_and_leaves_nothing_running(runner, tmp_path):
    """Outcome: an unbounded fork loop ends (timeout or failure) within the time limit and
    leaves no process or container behind."""
    src = script("""
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""")
    t0 = time.perf_counter()
    res = runner.run(src, {}, RunLimits(timeout_s=4, pids=32), results_dir=tmp_path / "r", **AS_OPERATOR)
    assert res.status in ("timeout", "failed"), res.message
    assert time.perf_counter() - t0 < 30
    assert_nothing_left(runner, res)


def assert_nothing_left(runner, res) -> None:
    if runner.isolation == "container":
        from meta_agent.sandbox.container import container_exists

        assert not container_exists(runner.client, res.details["container_name"])
    else:
        uid = res.details["uid"]
        if uid != 0:
            left = [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == uid]
            assert left == [], f"processes of uid {uid} still running: {left}"


def _uid_of(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_rlimits_runner_fork_bomb_applicability(rlimits_runner):
    """Outcome: the plain local runner says whether it can bound processes here — with a
    per-run uid RLIMIT_NPROC binds; as root without one it cannot (and describe() says whose
    uid it runs as), which is why the fork bomb test is not run for it then."""
    if os.geteuid() == 0 and not rlimits_runner.drop_uid:
        assert "caller's uid" in rlimits_runner.describe()
    else:
        assert rlimits_runner.drop_uid or os.geteuid() != 0


@pytest.mark.parametrize("runner", ALL, indirect=True)
def test_infinite_loop_ends_as_timeout_and_is_gone(runner, tmp_path):
    """Outcome: status timeout after the wall-clock limit; its container (or processes) is gone."""
    t0 = time.perf_counter()
    res = runner.run("while True:\n    pass\n", {}, RunLimits(timeout_s=2), results_dir=tmp_path / "r", **AS_OPERATOR)
    elapsed = time.perf_counter() - t0
    assert res.status == "timeout", res.message
    assert "2 s" in res.message
    assert 2 <= res.duration_s < 10 and elapsed < 15
    assert_nothing_left(runner, res)


@pytest.mark.parametrize("runner", ALL, indirect=True)
def test_a_script_printing_a_lot_streams_without_exhausting_memory(runner, tmp_path):
    """Outcome: 100 MB of output reach the callback line by line while the script runs (the
    first line long before the end); the result keeps only a bounded head and tail and the
    caller's peak memory grows by far less than the output."""
    src = script("""
import sys, time
print("first line", flush=True)
time.sleep(1.0)
line = "x" * 99
for i in range(1_000_000):
    sys.stdout.write(line + "\\n")
print("last line", flush=True)
""")
    first_at: list[float] = []
    count = [0]

    def on_output(stream: str, text: str) -> None:
        if stream == "stdout":
            if not first_at:
                first_at.append(time.perf_counter())
            count[0] += 1

    Path("/proc/self/clear_refs").write_text("5")  # reset this process's peak RSS (VmHWM)
    rss_before = _vm("VmRSS")
    t0 = time.perf_counter()
    res = runner.run(src, {}, RunLimits(timeout_s=120), results_dir=tmp_path / "r", on_output=on_output, **AS_OPERATOR)
    t_end = time.perf_counter()
    peak_growth_mb = (_vm("VmHWM") - rss_before) / 1024
    assert res.status == "succeeded", res.message
    assert count[0] == 1_000_002
    assert res.stdout_bytes >= 100_000_000
    assert len(res.stdout) < 200_000 and "first line" in res.stdout and "last line" in res.stdout
    assert first_at[0] - t0 < (t_end - t0) - 0.8, "the first line arrived only at the end"
    assert peak_growth_mb < 64, f"caller peak memory grew by {peak_growth_mb:.0f} MB"


def _vm(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(key)


# --------------------------------------------------------------------------- container only
@pytest.mark.container
def test_container_is_created_with_every_limit(container_runner, tmp_path):
    """Outcome: the engine reports the container with network none, all capabilities
    dropped, no-new-privileges, read-only root, memory = memory+swap, pids and ulimits."""
    seen: dict = {}

    def on_output(stream, line):
        if line == "ready" and not seen:
            ct = container_runner.client.containers.get(name)
            seen.update(ct.attrs["HostConfig"])

    run_id = uuid.uuid4().hex[:12]
    name = f"meta-agent-run-{run_id}"
    res = container_runner.run("import time\nprint('ready', flush=True)\ntime.sleep(1)\n", {},
                               RunLimits(timeout_s=30, memory_mb=256, pids=64), results_dir=tmp_path / "r",
                               run_id=run_id, on_output=on_output, **AS_OPERATOR)
    assert res.ok, res.message
    assert seen["NetworkMode"] == "none"
    assert [c.upper().removeprefix("CAP_") for c in seen["CapDrop"]] == ["ALL"] or len(seen["CapDrop"]) >= 14
    assert any("no-new-privileges" in o for o in seen["SecurityOpt"])
    assert seen["ReadonlyRootfs"] is True
    assert seen["Memory"] == 256 * 1024 * 1024 and seen["MemorySwap"] == 256 * 1024 * 1024
    assert seen["PidsLimit"] == 64
    ulimits = {u["Name"].removeprefix("RLIMIT_").lower(): u for u in seen["Ulimits"]}
    assert ulimits["nproc"]["Hard"] == 4096 and ulimits["nofile"]["Hard"] == 1024
    assert res.details["user"] == "65534:65534" or os.geteuid() != 0


@pytest.mark.container
def test_a_crashed_caller_leaves_no_container(container_engine, tmp_path):
    """Outcome: when the caller is SIGKILLed mid-run (no ``finally`` runs), the container
    stops at its own deadline and ``sweep_orphans`` removes it."""
    from meta_agent.sandbox.container import container_exists, sweep_orphans

    run_id = uuid.uuid4().hex[:12]
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from meta_agent.sandbox import RunLimits
        from meta_agent.sandbox.container import ContainerRunner
        def on_output(stream, line):
            print(line, flush=True)
        ContainerRunner.connect().run("import time\\nprint('started', flush=True)\\ntime.sleep(600)\\n", {{}},
            RunLimits(timeout_s=3), results_dir=Path({str(tmp_path / 'r')!r}), run_id={run_id!r}, on_output=on_output)
    """)
    caller = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert caller.stdout.readline().strip() == "started"
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    name = f"meta-agent-run-{run_id}"
    client = container_engine.client
    assert container_exists(client, name), "the container should outlive its killed caller"
    deadline = time.time() + 20  # timeout 3 s + the launcher's 5 s grace, with slack
    while time.time() < deadline and client.containers.get(name).status == "running":
        time.sleep(0.5)
    assert client.containers.get(name).status != "running", "the in-container deadline did not stop it"
    staging = Path(client.containers.get(name).labels["meta-agent.staging"])
    assert staging.is_dir()
    removed = sweep_orphans(client)
    assert name in removed
    assert not container_exists(client, name)
    assert not staging.exists(), "the dead caller's staging directory was left behind"


@pytest.mark.container
def test_oom_flag_and_cgroup_agree(container_runner, tmp_path):
    """Outcome: an 800 MB allocation under the default 512 MB limit exits 137 and is
    reported as out_of_memory with the peak memory at the limit."""
    res = container_runner.run("x = bytearray(800 * 1024 * 1024)\nprint('survived')\n", {},
                               RunLimits(timeout_s=60), results_dir=tmp_path / "r", **AS_OPERATOR)
    assert res.status == "out_of_memory" and res.exit_code == 137, res.message
    assert "512 MB" in res.message and "OOM-killed" in res.message
    assert res.peak_memory_mb is not None and res.peak_memory_mb >= 400


def test_json_round_trip_of_a_result(rlimits_runner, tmp_path):
    """Outcome: a RunResult serializes to JSON (the CLI's --json and asset metadata use it)."""
    res = rlimits_runner.run("print('hi')\n", {}, RunLimits(timeout_s=30), results_dir=tmp_path / "r", **AS_OPERATOR)
    doc = json.loads(json.dumps(res.as_dict()))
    assert doc["status"] == "succeeded" and doc["isolation"] == "local" and doc["runner"] == "local:rlimits"


# --------------------------------------------------------------------------- host layout
def test_bwrap_sees_a_python_installed_under_tmp(bwrap_runner, tmp_path):
    """Outcome: a read-only host mount under /tmp (a checkout and its .venv there, as on a CI
    machine) is visible inside the sandbox rather than hidden by the sandbox's private /tmp."""
    checkout = tmp_path / "checkout" / ".venv"
    checkout.mkdir(parents=True)
    (checkout / "marker.txt").write_text("from the host")
    bwrap_runner.mounts = (*bwrap_runner.mounts, checkout)
    src = script(WRITE_RESULT + f"""
import os
done({{"marker": open({str(checkout / "marker.txt")!r}).read(),
       "tmp_is_private": not os.path.exists({str(tmp_path / "r")!r})}})
""")
    res = bwrap_runner.run(src, {}, RunLimits(timeout_s=30), results_dir=tmp_path / "r", **AS_OPERATOR)
    assert res.status == "succeeded", res.message
    assert result_of(res) == {"marker": "from the host", "tmp_is_private": True}
