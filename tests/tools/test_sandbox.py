"""The shell sandbox, checked from inside real commands (SAFETY.md §1 recipe).

The bwrap tests skip with the reason where bubblewrap cannot create namespaces; CI installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from toolhelpers import call, make_config, needs_bwrap, reply, wait_gone

from tools import sandbox as sandboxes
from tools.landlock import abi_version

NET_PROBE = ("python3 -c \"import socket,sys; s=socket.create_connection(('127.0.0.1', {port}), timeout=3); "
             "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print('REPLY', s.recv(64)[:12])\"")


@needs_bwrap
async def test_writes_outside_the_workspace_fail(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    command = f"echo inside > made.txt; echo x > {outside}/escaped; echo y > /etc/qagent-escape; true"
    result = await call("shell", {"command": command}, workspace)
    assert result.data["sandbox"] == "bwrap"
    assert (workspace / "made.txt").read_text() == "inside\n"
    assert not (outside / "escaped").exists() and not Path("/etc/qagent-escape").exists()
    assert "Read-only file system" in result.text


@needs_bwrap
async def test_symlink_out_of_the_workspace_cannot_be_written(workspace: Path, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("original\n")
    (workspace / "link").symlink_to(target)
    await call("shell", {"command": "echo pwned > link"}, workspace)
    assert target.read_text() == "original\n"


@needs_bwrap
async def test_existing_secret_files_are_masked_and_missing_ones_not_created(workspace: Path) -> None:
    (workspace / ".env").write_text("DEEPSEEK_API_KEY=sk-canary-1\n")
    (workspace / "config").mkdir()
    (workspace / "config" / ".env.local").write_text("TOKEN=canary-2\n")
    (workspace / "deploy.pem").write_text("-----BEGIN PRIVATE KEY----- canary-3\n")
    (workspace / ".env.example").write_text("DEEPSEEK_API_KEY=put-yours-here\n")
    command = "cat .env config/.env.local deploy.pem .env.example 2>&1; ls -a"
    result = await call("shell", {"command": command}, workspace)
    assert "canary" not in result.text
    assert "put-yours-here" in result.text, "templates stay readable"
    assert sorted(result.data["masked"]) == [".env", "config/.env.local", "deploy.pem"]
    assert (workspace / ".env").read_text() == "DEEPSEEK_API_KEY=sk-canary-1\n", "host file untouched"
    for name in ("id_rsa", ".netrc", "credentials.json"):
        assert not (workspace / name).exists(), "no empty mount-point files appear (SAFETY row 29)"


@needs_bwrap
async def test_git_is_read_only_but_readable(workspace: Path) -> None:
    (workspace / "README.md").write_text("# changed\n")
    result = await call("shell", {"command": "git status --short; git add -A && git commit -qm x; "
                                  "echo '[evil]' >> .git/config"}, workspace)
    assert "M README.md" in result.text
    assert "Read-only file system" in result.text
    assert "[evil]" not in (workspace / ".git" / "config").read_text()
    log = subprocess.run(["git", "-C", str(workspace), "log", "--oneline"], capture_output=True, text=True)
    assert len(log.stdout.splitlines()) == 1


@needs_bwrap
async def test_environment_is_cleared_and_home_is_private(workspace: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-env-canary")
    monkeypatch.setenv("SOME_PLAIN_SETTING", "visible?")
    marker = f"qagent-home-{uuid.uuid4().hex}"
    result = await call("shell", {"command": f"env; touch ~/{marker}; ls ~ | wc -l"}, workspace)
    assert "sk-env-canary" not in result.text and "SOME_PLAIN_SETTING" not in result.text
    assert not (Path.home() / marker).exists()


@pytest.fixture
def loopback_server(serve):  # type: ignore[no-untyped-def]
    return serve({"/": reply("hello from the host", "text/plain")})


@needs_bwrap
async def test_network_is_off_by_default(workspace: Path, loopback_server) -> None:  # type: ignore[no-untyped-def]
    probe = NET_PROBE.format(port=loopback_server.port)
    curl = f"curl -sS --max-time 3 {loopback_server.url}/" if shutil.which("curl") else "true"
    result = await call("shell", {"command": f"{probe}; {curl}"}, workspace)
    assert "REPLY" not in result.text and "hello from the host" not in result.text
    assert "Connection refused" in result.text or "unreachable" in result.text


@needs_bwrap
async def test_network_works_when_the_user_allows_it(workspace: Path, loopback_server) -> None:  # type: ignore[no-untyped-def]
    probe = NET_PROBE.format(port=loopback_server.port)
    result = await call("shell", {"command": probe}, workspace,
                        config=make_config(sandbox={"network": True}))
    assert "REPLY b'HTTP/1.0 200'" in result.text, result.text


@needs_bwrap
async def test_daemon_that_drops_the_marker_still_dies_with_the_sandbox(workspace: Path) -> None:
    tok = f"1000.{uuid.uuid4().int % 10**9}"
    await call("shell", {"command": f"env -u QAGENT_RUN_ID setsid sleep {tok} >/dev/null 2>&1 &"}, workspace)
    assert await wait_gone(tok) == []


@pytest.fixture
def foreign_workspace() -> Iterator[Path]:
    """A repo owned by an unprivileged uid, in a folder that uid can reach."""
    base = Path(tempfile.mkdtemp(prefix="qagent-owner-"))
    base.chmod(0o755)
    root = base / "repo"
    root.mkdir()
    (root / "code.py").write_text("x = 1\n")
    for path in (root, root / "code.py"):
        os.chown(path, 4242, 4242)
    yield root
    shutil.rmtree(base)


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="only root switches to the workspace owner")
async def test_root_runs_commands_as_the_workspace_owner(foreign_workspace: Path) -> None:
    result = await call("shell", {"command": "id -u; echo 'x = 2' > code.py; echo new > new.txt"},
                        foreign_workspace)
    assert result.text.splitlines()[0] == "4242", result.text
    assert (foreign_workspace / "code.py").read_text() == "x = 2\n"
    assert (foreign_workspace / "new.txt").stat().st_uid == 4242


def test_secret_file_scan_skips_templates_and_dependencies(tmp_path: Path) -> None:
    for name in (".env", ".env.production", "id_rsa", "server.key", "node_modules/pkg/cert.pem",
                 ".venv/lib/cacert.pem", ".env.example", "notes.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = {p.name for p in sandboxes.secret_files(tmp_path)}
    assert found == {".env", ".env.production", "id_rsa", "server.key"}


def test_probe_and_notice() -> None:
    off = sandboxes.detect("off")
    assert off.kind == "none" and sandboxes.notice_text(off, "off") is None
    unconfined = sandboxes.SandboxStatus("none", "bwrap is not installed")
    text = sandboxes.notice_text(unconfined)
    assert text and "WITHOUT a sandbox" in text and "apt-get install bubblewrap" in text
    assert "refused" in (sandboxes.notice_text(unconfined, "bwrap") or "")
    landlock = sandboxes.SandboxStatus("landlock", "bwrap cannot create namespaces here")
    assert "Landlock" in (sandboxes.notice_text(landlock) or "")


@pytest.mark.skipif(abi_version() < 4, reason="Landlock ABI 4+ (kernel 6.7+) is needed for the network rules")
def test_landlock_fallback_confines_writes_and_tcp(workspace: Path, loopback_server) -> None:  # type: ignore[no-untyped-def]
    # /tmp stays writable under Landlock (no private tmpfs without namespaces): test the account's real
    # home folder (the tests' HOME is an isolated folder under /tmp).
    outside = Path(tempfile.mkdtemp(prefix=".qagent-landlock-test-", dir=pwd.getpwuid(os.getuid()).pw_dir))
    status = sandboxes.SandboxStatus("landlock", "forced by the test")
    command = (f"echo ok > inside.txt; echo no > {outside}/escaped; "
               + NET_PROBE.format(port=loopback_server.port))
    launch = sandboxes.prepare(command, root=workspace, cwd=workspace, status=status, run_id="t")
    done = subprocess.run(launch.argv, env=launch.env, cwd=workspace, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    escaped = (outside / "escaped").exists()
    shutil.rmtree(outside)
    assert (workspace / "inside.txt").read_text() == "ok\n"
    assert not escaped
    assert "Permission denied" in done.stderr and "REPLY" not in done.stdout


def test_loopback_server_is_reachable_from_the_host(loopback_server) -> None:  # type: ignore[no-untyped-def]
    """Control for the network tests: the refusal above is the sandbox, not a dead server."""
    with socket.create_connection(("127.0.0.1", loopback_server.port), timeout=3) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.0 200")


@needs_bwrap
async def test_venv_interpreters_under_home_stay_usable(workspace: Path) -> None:
    """pyenv/uv interpreters live in $HOME, which is a tmpfs: only their folders are shown."""
    install = Path(tempfile.mkdtemp(prefix=".qagent-test-python-", dir=Path.home()))
    sibling = Path(tempfile.mkdtemp(prefix=".qagent-test-private-", dir=Path.home()))
    try:
        (install / "bin").mkdir()
        (install / "bin" / "python3").write_text("fake interpreter\n")
        (sibling / "secret.txt").write_text("home canary\n")
        (workspace / ".venv").mkdir()
        (workspace / ".venv" / "pyvenv.cfg").write_text(f"home = {install}/bin\nversion = 3.11.7\n")
        command = f"cat {install}/bin/python3; cat {sibling}/secret.txt; touch {install}/bin/x"
        result = await call("shell", {"command": command}, workspace)
        assert "fake interpreter" in result.text and "home canary" not in result.text
        assert not (install / "bin" / "x").exists()
    finally:
        shutil.rmtree(install)
        shutil.rmtree(sibling)
