"""The three real repositories the routing corpus is written against, fetched at a fixed version.

Nothing of them is committed: each is fetched from its registry with the registry's own client
(``pip download``, ``npm pack``, ``apt-get download``) into ``.bench-cache/routing/`` and
committed into a fresh git repository there, because qagent expects to run inside one. The
versions are fixed so that every file, function and test the corpus names exists.

Why these three: they have different shapes. Flask is a flat Python package with a large test
suite; @trpc/server is TypeScript split into layers (core, http, adapters) with no tests in its
tarball; gin is a Go package whose root holds most of the code with its ``_test.go`` files beside
it and a few sub-packages (binding, render). PyPI sdists of Rust crates (pydantic-core, jiter)
were tried first, but ``pip download`` of a maturin sdist runs ``cargo metadata``, which needs
crates.io; Debian's Go source package needs nothing but its registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache" / "routing"


@dataclass(frozen=True)
class Repo:
    """One corpus repository: where its fixed version comes from and where its history lives."""

    name: str
    registry: str  # pypi | npm | debian
    spec: str  # what the registry client is given
    inner: str  # the folder inside the unpacked package that is the repository root
    history: str  # GitHub owner/name whose history the mined requests come from
    tag: str  # the tag in that history matching the fixed version
    prefix: str  # path in the history that corresponds to the package root ("" = same)


REPOS: dict[str, Repo] = {
    "flask": Repo(
        name="flask",
        registry="pypi",
        spec="flask==3.1.0",
        inner="flask-3.1.0",
        history="pallets/flask",
        tag="3.1.0",
        prefix="",
    ),
    "trpc": Repo(
        name="trpc",
        registry="npm",
        spec="@trpc/server@10.45.2",
        inner="package",
        history="trpc/trpc",
        tag="v10.45.2",
        prefix="packages/server/",
    ),
    "gin": Repo(
        name="gin",
        registry="debian",
        spec="golang-github-gin-gonic-gin-dev=1.8.1-1",
        inner="usr/share/gocode/src/github.com/gin-gonic/gin",
        history="gin-gonic/gin",
        tag="v1.8.1",
        prefix="",
    ),
}


class FetchError(RuntimeError):
    """A repository could not be fetched; the message says which client failed and what to try."""


def _run(cmd: list[str], cwd: Path, hint: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise FetchError(f"`{cmd[0]}` is not installed; {hint}")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise FetchError(f"`{' '.join(cmd)}` failed ({hint}):\n  " + "\n  ".join(tail))


def _download(repo: Repo, into: Path) -> Path:
    """Fetch the package file with its registry's client; return the downloaded file."""
    if repo.registry == "pypi":
        _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             repo.spec, "-d", str(into)],
            into,
            "is PyPI reachable? (pip's index settings apply)",
        )
    elif repo.registry == "npm":
        _run(["npm", "pack", repo.spec, "--pack-destination", str(into)], into,
             "install Node.js/npm and check that the npm registry is reachable")
    elif repo.registry == "debian":
        _run(["apt-get", "download", repo.spec], into,
             "this needs a Debian 12 machine; run `apt-get update` first")
    else:
        raise FetchError(f"unknown registry {repo.registry!r} for {repo.name}")
    files = [p for p in into.iterdir() if p.is_file()]
    if len(files) != 1:
        raise FetchError(f"expected one downloaded file for {repo.spec}, found {files}")
    return files[0]


def _unpack(package: Path, into: Path) -> None:
    if package.suffix == ".deb":
        _run(["dpkg-deb", "-x", str(package), str(into)], into, "dpkg-deb comes with Debian")
    else:
        with tarfile.open(package) as tar:
            tar.extractall(into, filter="data")


def _git(args: list[str], cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def checkout(repo: Repo, cache: Path = CACHE) -> Path:
    """The repository's fixed version as a git work tree under ``cache``; fetched on first use."""
    dest = cache / repo.name
    if (dest / ".git").is_dir():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        (work / "dl").mkdir()
        (work / "x").mkdir()
        _unpack(_download(repo, work / "dl"), work / "x")
        root = work / "x" / repo.inner
        if not root.is_dir():
            raise FetchError(f"{repo.spec} unpacked without the expected folder {repo.inner}")
        _git(["init", "-q", "-b", "main"], root)
        _git(["add", "-A", "-f"], root)
        _git(["commit", "-q", "-m", f"{repo.spec} as published"], root)
        shutil.move(str(root), dest)
    return dest
