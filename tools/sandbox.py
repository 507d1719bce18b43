"""Capability for shell commands: what a command can touch, whatever the model asked for.

The recipe is the one verified in SAFETY.md §1: bubblewrap with the root filesystem read-only, the
workspace writable, ``.git`` read-only, existing secret files masked, tmpfs ``/tmp`` and ``$HOME``,
a cleared environment, its own pid namespace with ``--die-with-parent`` (daemons die with the
command) and no network unless the user allows it. Where bwrap cannot create namespaces (some
containers), Landlock confines writes (and TCP, ABI 4+); where neither works the command runs
unconfined and the user is told once. Probing happens once per process.

Running as root is common in containers: the command then runs as the workspace owner (SAFETY.md
rows 15/26/27), because root inside a user namespace cannot edit files of unmapped uids.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.secrets import is_secret_name

SandboxKind = Literal["bwrap", "landlock", "none"]
SandboxPolicy = Literal["auto", "bwrap", "off"]

RUN_ID_VAR = "QAGENT_RUN_ID"
"""Marker put in every command's environment so leftover processes can be found and killed."""

_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
                        ".pytest_cache", ".ruff_cache", "site-packages"})
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
_BWRAP_NAMESPACES = ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts")


@dataclass(frozen=True)
class SandboxStatus:
    kind: SandboxKind
    detail: str = ""
    """Why a stronger sandbox is not in use (probe error), empty when bwrap works."""
    disable_userns: bool = True
    """bwrap supports ``--disable-userns`` (0.8+): nested user namespaces are blocked."""


@dataclass(frozen=True)
class Launch:
    """How to start one command: argv, environment and the uid/gid to run as (None: unchanged)."""

    argv: list[str]
    env: dict[str, str]
    kind: SandboxKind
    user: int | None = None
    group: int | None = None
    masked: list[str] = field(default_factory=list)


@functools.cache
def _bwrap_probe() -> tuple[str | None, bool]:
    """(error or None, supports --disable-userns), from running a tiny sandbox once."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap is not installed", False
    base = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_BWRAP_NAMESPACES,
            "--unshare-net", "--die-with-parent", "--new-session"]
    error = ""
    for extra in (["--disable-userns"], []):
        try:
            done = subprocess.run([*base, *extra, "true"], capture_output=True, text=True, timeout=10,
                                  stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap failed to start: {exc}", False
        if done.returncode == 0:
            return None, bool(extra)
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return f"bwrap cannot create namespaces here ({error})", False


@functools.cache
def _landlock_abi() -> int:
    from tools.landlock import abi_version

    try:
        return abi_version()
    except OSError:
        return 0


def detect(policy: SandboxPolicy = "auto") -> SandboxStatus:
    """Which sandbox commands run in under ``policy``; cheap after the first call."""
    if policy == "off":
        return SandboxStatus("none", "the sandbox is turned off in config ([sandbox] policy = \"off\")")
    error, disable_userns = _bwrap_probe()
    if error is None:
        return SandboxStatus("bwrap", disable_userns=disable_userns)
    if policy == "bwrap":
        return SandboxStatus("none", error)
    if sys.platform.startswith("linux") and _landlock_abi() >= 1:
        return SandboxStatus("landlock", error)
    return SandboxStatus("none", f"{error}; Landlock is not available either")


def notice_text(status: SandboxStatus, policy: SandboxPolicy = "auto") -> str | None:
    """What to tell the user once per process about weaker isolation (None: nothing to say)."""
    if status.kind == "bwrap" or policy == "off":
        return None
    how = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged "
           "user namespaces (sysctl kernel.unprivileged_userns_clone=1; in Docker run with "
           "--security-opt seccomp=unconfined or a profile allowing clone(CLONE_NEWUSER))")
    if policy == "bwrap":
        return (f"Shell commands are refused: [sandbox] policy is \"bwrap\" but {status.detail}. "
                f"To fix, {how}.")
    if status.kind == "landlock":
        return (f"Shell sandbox: {status.detail}; using Landlock only — writes are confined to the "
                f"workspace, but secret files are not masked and daemons are cleaned up by process "
                f"scan only. For full isolation, {how}.")
    return (f"Shell commands run WITHOUT a sandbox: {status.detail}. They can write anywhere you can "
            f"and reach the network; approvals are your only guard. To enable it, {how}.")


_noticed: set[str] = set()


def take_notice(status: SandboxStatus, policy: SandboxPolicy = "auto") -> str | None:
    """``notice_text`` the first time per process and policy, then None."""
    text = notice_text(status, policy)
    if text is None or policy in _noticed:
        return None
    _noticed.add(policy)
    return text


def startup_notice(policy: SandboxPolicy = "auto") -> str | None:
    """Probe now (once per process) and return the one-time notice for the user, if any.

    Front ends call this at start-up and show it as a ``Notice``; the shell tool then stays quiet.
    """
    return take_notice(detect(policy), policy)


def secret_files(root: Path, *, limit: int = 500, budget: int = 20_000) -> list[Path]:
    """Existing secret-looking files in the workspace (real paths), for masking.

    Only existing files: binding onto a missing path makes bwrap create an empty file in the
    host repo (SAFETY.md row 29). Dependency folders and virtualenvs are skipped (certifi's
    cacert.pem is no secret). Breadth-first within a budget of directory entries, so a huge
    ignored tree costs a bounded time (~0.1 s) while the shallow places secrets live are covered.
    """
    found: list[Path] = []
    queue = deque([str(root)])
    seen = 0
    while queue and seen < budget:
        try:
            entries = list(os.scandir(queue.popleft()))
        except OSError:
            continue
        seen += len(entries)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                venv = os.path.exists(entry.path + "/pyvenv.cfg")  # noqa: PTH110 - hot loop, no pathlib
                if entry.name not in _SKIP_DIRS and not venv:
                    queue.append(entry.path)
            elif is_secret_name(entry.name):
                real = Path(os.path.realpath(entry.path))
                if real.is_file():
                    found.append(real)
                    if len(found) >= limit:
                        return found
    return found


def secret_file_refusal(path: Path, shown: str) -> str | None:
    """Why file tools will not open ``path`` (a secret-looking name), or None.

    The sandbox masks these files from shell commands in every mode; file tools match it. Redaction
    catches keys with a known shape, but a ``.env`` line like ``DB_PASSWORD=hunter2`` has none, and
    tool output goes to the model (possibly remote) and the session log.
    """
    if not is_secret_name(path.name):
        return None
    return (f"{shown} looks like a secret file (keys, passwords); file tools do not open it, so its content "
            "never reaches a model or the session log. Ask the user for what you need from it (a variable "
            "name, not its value), or have them edit it.")


def venv_interpreters(root: Path, home: str) -> list[str]:
    """Python installations under $HOME that the workspace's virtualenvs point at.

    The tmpfs over $HOME would otherwise break ``.venv/bin/python`` for pyenv and uv users (their
    interpreters live in ~/.pyenv or ~/.local/share/uv); only those installation folders are shown,
    read-only, not the rest of the home folder.
    """
    found: list[str] = []
    prefix = home.rstrip("/") + "/"
    for cfg in root.glob("*/pyvenv.cfg"):
        try:
            lines = cfg.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip().startswith(prefix):
                install = str(Path(value.strip()).parent)
                if install.rstrip("/") + "/" != prefix and install not in found:
                    found.append(install)
    return found


def run_as(root: Path) -> tuple[int | None, int | None]:
    """As root, run commands as the workspace owner (root inside a userns cannot edit their files)."""
    if os.geteuid() != 0:
        return None, None
    info = root.stat()
    if info.st_uid == 0:
        return None, None
    return info.st_uid, info.st_gid


def _home_for(uid: int | None) -> str:
    if uid is not None:
        try:
            return pwd.getpwuid(uid).pw_dir
        except KeyError:
            return "/nonexistent"
    return str(Path.home())


def scrubbed_environ(base: dict[str, str]) -> dict[str, str]:
    """The parent's environment minus anything that looks like a credential."""
    return {k: v for k, v in base.items() if not _SECRET_ENV.search(k) and k != RUN_ID_VAR}


def _quiet_env(home: str, run_id: str) -> dict[str, str]:
    """Variables that stop pagers, prompts, editors and colour codes from stalling or garbling output.

    Editors are ``false``: ``git commit`` without ``-m`` then fails at once, telling to use ``-m``.
    """
    return {"HOME": home, "TERM": "dumb", "PAGER": "cat", "GIT_PAGER": "cat", "NO_COLOR": "1",
            "GIT_TERMINAL_PROMPT": "0", "EDITOR": "false", "VISUAL": "false", "GIT_EDITOR": "false",
            "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8", RUN_ID_VAR: run_id}


def prepare(
    command: str,
    *,
    root: Path,
    cwd: Path,
    status: SandboxStatus,
    run_id: str,
    network: bool = False,
    extra_ro_binds: tuple[str, ...] = (),
    visible: tuple[Path, ...] = (),
) -> Launch:
    """The argv/env to run ``command`` with ``bash -c`` under ``status.kind``.

    ``visible`` are host folders the command must be able to read (the output spill folder), even
    though ``/tmp`` is a private tmpfs inside bwrap.
    """
    uid, gid = run_as(root)
    home = _home_for(uid)
    shell = [shutil.which("bash") or "/bin/bash", "-c", command]
    if status.kind == "bwrap":
        return _bwrap_launch(shell, root=root, cwd=cwd, home=home, uid=uid, gid=gid, run_id=run_id,
                             network=network, status=status, extra=extra_ro_binds, visible=visible)
    env = {**scrubbed_environ(dict(os.environ)), **_quiet_env(home, run_id)}
    if status.kind == "landlock":
        launcher = str(Path(__file__).with_name("landlock.py"))
        writable = [str(root), "/dev", "/tmp", "/var/tmp", *(str(v) for v in visible)]
        flags = [arg for path in writable for arg in ("--rw", path)]
        argv = [sys.executable, "-I", "-S", launcher, *flags, *([] if network else ["--no-net"]), "--",
                *shell]
        return Launch(argv, env, "landlock", uid, gid)
    return Launch(shell, env, "none", uid, gid)


def _bwrap_launch(shell: list[str], *, root: Path, cwd: Path, home: str, uid: int | None,
                  gid: int | None, run_id: str, network: bool, status: SandboxStatus,
                  extra: tuple[str, ...], visible: tuple[Path, ...]) -> Launch:
    argv = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp"]
    if home != "/" and Path(home).is_dir():
        argv += ["--tmpfs", home]
    else:
        home = "/tmp"
    for path in [*(str(Path(p).expanduser()) for p in extra), *venv_interpreters(root, home)]:
        argv += ["--ro-bind-try", path, path]
    for folder in visible:
        argv += ["--ro-bind", str(folder), str(folder)]
    # Later binds override earlier ones: the repo first, then its read-only and masked parts.
    argv += ["--bind", str(root), str(root)]
    git = root / ".git"
    if git.exists():
        argv += ["--ro-bind", str(git), str(git)]
    masked = [str(p) for p in secret_files(root)]
    for path in masked:
        argv += ["--ro-bind", "/dev/null", path]
    argv += [*_BWRAP_NAMESPACES, *(["--disable-userns"] if status.disable_userns else [])]
    if not network:
        argv.append("--unshare-net")
    argv += ["--die-with-parent", "--new-session", "--clearenv"]
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), **_quiet_env(home, run_id)}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--chdir", str(cwd), "--", *shell]
    return Launch(argv, {"PATH": env["PATH"]}, "bwrap", uid, gid, masked)
