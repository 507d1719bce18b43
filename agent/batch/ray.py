"""The Ray executor: batch tasks as Ray tasks, on one machine or a cluster (``pip install 'qagent[ray]'``).

Workers share no file system with the driver: the driver puts a git bundle of the base commit in
Ray's object store once; each worker clones it into a temporary folder, runs the task there with
the same code as the local executor, and returns its report row plus the new commits as a bundle,
which the driver fetches into the repository as the task's branch. Workers need qagent installed
and must reach the model endpoints in the config.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.batch.execute import TaskSpec, TaskState, drop_index, run_in_checkout, warm_up
from agent.batch.tasks import TaskRow
from agent.config import AgentConfig
from agent.git.plumbing import run_git

BASE_REF = "refs/qagent/batch-base"


class ExecutorError(RuntimeError):
    """The executor cannot start (Ray missing or unreachable)."""


def _git(cwd: Path, *args: str) -> str:
    return run_git(cwd, *args).decode(errors="replace").strip()


def run_on_worker(
    config: AgentConfig, spec_data: dict[str, Any], base_bundle: bytes
) -> tuple[dict[str, Any], bytes | None]:
    """Body of the Ray task: clone the base, run the task, bundle the branch."""
    spec = TaskSpec.from_dict(spec_data)
    warm_up()
    state = TaskState(id=spec.task.id, started=time.monotonic())
    work = Path(tempfile.mkdtemp(prefix=f"qagent-ray-{spec.task.id}-"))
    try:
        (work / "base.bundle").write_bytes(base_bundle)
        checkout = work / "repo"
        subprocess.run(["git", "init", "-q", str(checkout)], check=True, capture_output=True)
        _git(checkout, "fetch", "-q", str(work / "base.bundle"), f"{BASE_REF}:{BASE_REF}")
        _git(checkout, "checkout", "-q", "-b", spec.branch, spec.base_commit)
        row = asyncio.run(run_in_checkout(checkout, spec, config, state))
        bundle = None
        if row.commit:
            _git(
                checkout,
                "bundle",
                "create",
                "-q",
                str(work / "out.bundle"),
                spec.branch,
                f"^{spec.base_commit}",
            )
            bundle = (work / "out.bundle").read_bytes()
        return row.model_dump(), bundle
    finally:
        drop_index(work / "repo")
        shutil.rmtree(work, ignore_errors=True)


class RayExecutor:
    name = "ray"

    def __init__(self, repo: Path, config: AgentConfig, *, address: str | None = None) -> None:
        try:
            import ray
        except ModuleNotFoundError:
            raise ExecutorError("--executor ray needs Ray: pip install 'qagent[ray]'") from None
        self.ray = ray
        self.repo = repo
        self.config = config
        self._started_here = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except Exception as exc:
                raise ExecutorError(
                    f"cannot start or reach Ray{f' at {address}' if address else ''}: {exc}"
                ) from None
            self._started_here = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_on_worker)
        self._bases: dict[str, Any] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="qagent-ray-driver-"))

    def _base_ref(self, commit: str) -> Any:
        """The base commit's history as a bundle in the object store (made once per base)."""
        if commit not in self._bases:
            path = self._tmp / "base.bundle"
            _git(self.repo, "update-ref", BASE_REF, commit)
            try:
                _git(self.repo, "bundle", "create", "-q", str(path), BASE_REF)
            finally:
                _git(self.repo, "update-ref", "-d", BASE_REF)
            self._bases[commit] = self.ray.put(path.read_bytes())
            path.unlink()
        return self._bases[commit]

    async def run(self, spec: TaskSpec, state: TaskState) -> TaskRow:
        state.set("on ray")
        ref = self._remote.remote(self.config, spec.to_dict(), self._base_ref(spec.base_commit))
        try:
            row_data, bundle = await ref
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
            raise
        row = TaskRow.model_validate(row_data)
        state.set("fetching")
        if bundle is None:
            _git(self.repo, "branch", spec.branch, spec.base_commit)
        else:
            path = self._tmp / f"{spec.task.id}.bundle"
            path.write_bytes(bundle)
            try:
                _git(
                    self.repo, "fetch", "-q", str(path), f"refs/heads/{spec.branch}:refs/heads/{spec.branch}"
                )
            finally:
                path.unlink()
        return row

    async def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self._started_here:
            self.ray.shutdown()
