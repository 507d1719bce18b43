"""Append-only JSONL session logs: every conversation can be resumed after anything, even kill -9.

One file per session, ``<data_dir>/sessions/<id>.jsonl``. Each line is one record:
``{"kind": "meta" | "message" | "event" | "reset", ...}``. Messages are the conversation exactly as
the provider sees it (a ``reset`` record replaces it, after compaction); events are kept for
``qagent sessions`` (cost, first prompt) and for post-mortems. Each record is written with one
``write`` and flushed; ``sync()`` (fsync) runs at turn end. A torn last line (crash mid-write) is
skipped when reading and cut off before appending again. Every string goes through
:func:`tools.redact.redact` first, so keys never reach the disk.

Streaming deltas (text, reasoning, live tool output) are not logged: the finished message carries
the same text, and logging each token would bloat the file.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.config import AgentConfig
from agent.core.ports import TurnHook
from agent.events import Event, ReasoningDelta, TextDelta, ToolOutputDelta, UsageReported
from agent.fsutil import atomic_write
from agent.messages import Message
from tools.redact import redact

FORMAT_VERSION = 1
_SKIPPED_EVENTS = (TextDelta, ReasoningDelta, ToolOutputDelta)
OUTCOME_UNKNOWN = (
    "outcome unknown: the session ended before this tool call's result was recorded. It may or may "
    "not have run; check the current state (read the files, run git status) before repeating it."
)


class SessionNotFound(LookupError):
    """No session matches; the message says what was looked for and how to list sessions."""


class SessionMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    repo: str
    started: float
    version: int = FORMAT_VERSION


@dataclass(frozen=True)
class SessionInfo:
    id: str
    repo: str
    first_prompt: str
    started: float
    cost_usd: float
    path: Path
    updated: float = 0.0


def data_dir(config: AgentConfig | None = None) -> Path:
    """Where sessions live: ``config.session.data_dir`` or the platform's user data dir."""
    if config is not None and config.session.data_dir:
        return Path(config.session.data_dir).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("qagent"))


def new_session_id() -> str:
    """Sortable by time, unique enough to type a short prefix: ``20261123-121626-4f9a1c``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: v if k == "data_b64" else _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


class SessionLog(TurnHook):
    """The writer. Create one per session; ``open`` continues an existing file (resume)."""

    def __init__(
        self, path: Path, meta: SessionMeta, *, first_prompt: str = "", cost_usd: float = 0.0
    ) -> None:
        self.path = path
        self.meta = meta
        self.first_prompt = first_prompt
        self.cost_usd = cost_usd
        self._handle = path.open("a", encoding="utf-8")

    @classmethod
    def create(cls, data_dir: Path, repo: Path, session_id: str | None = None) -> SessionLog:
        folder = Path(data_dir) / "sessions"
        folder.mkdir(parents=True, exist_ok=True)
        meta = SessionMeta(
            id=session_id or new_session_id(), repo=str(Path(repo).resolve()), started=time.time()
        )
        path = folder / f"{meta.id}.jsonl"
        if path.exists():
            raise FileExistsError(f"session {meta.id} already exists at {path}; resume it with --resume")
        log = cls(path, meta)
        log._write({"kind": "meta", **meta.model_dump()})
        log.sync()
        return log

    @classmethod
    def open(cls, path: Path) -> tuple[SessionLog, list[Message]]:
        """Continue a session: cut a torn last line, load the conversation, and record an
        "outcome unknown" result for every tool call that never got one. Returns (log, messages)."""
        path = Path(path)
        _cut_torn_tail(path)
        meta, messages, unanswered = _read(path)
        seen = _scan(path)
        log = cls(
            path, meta, first_prompt=seen.first_prompt if seen else "", cost_usd=seen.cost_usd if seen else 0
        )
        for message in unanswered:
            log.append_message(message)
        log.sync()
        return log, messages

    def append_event(self, event: Event) -> None:
        if isinstance(event, _SKIPPED_EVENTS):
            return
        if isinstance(event, UsageReported):
            self.cost_usd += event.cost_usd
        self._write({"kind": "event", "event": event.model_dump(mode="json")})

    def append_message(self, message: Message) -> None:
        if message.role == "user" and not self.first_prompt:
            self.first_prompt = redact(message.content)
        self._write({"kind": "message", "message": message.model_dump(mode="json", exclude_defaults=True)})

    def replace_conversation(self, messages: list[Message]) -> None:
        """After compaction: from here on, the conversation is ``messages``."""
        dumped = [m.model_dump(mode="json", exclude_defaults=True) for m in messages]
        self._write({"kind": "reset", "messages": dumped})

    # TurnHook: the loop calls these.
    def on_event(self, event: Event) -> None:
        self.append_event(event)

    def on_message(self, message: Message) -> None:
        self.append_message(message)

    def end_turn(self) -> None:
        self.sync()

    def sync(self) -> None:
        """fsync: call at turn end so a power cut loses at most the current turn. Also refreshes the
        summary file ``qagent sessions`` reads instead of scanning the whole log."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        summary = {"id": self.meta.id, "repo": self.meta.repo, "started": self.meta.started,
                   "first_prompt": self.first_prompt, "cost_usd": self.cost_usd,
                   "log_size": os.fstat(self._handle.fileno()).st_size}  # fmt: skip
        atomic_write(_summary_path(self.path), json.dumps(summary).encode())

    def close(self) -> None:
        if not self._handle.closed:
            self.sync()
            self._handle.close()

    def __enter__(self) -> SessionLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(_redacted(record), ensure_ascii=False, separators=(",", ":")) + "\n"
        self._handle.write(line)
        self._handle.flush()


def _cut_torn_tail(path: Path) -> None:
    """Drop a partial last line so the next record starts on a fresh line."""
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        pos = size
        while pos > 0:
            step = min(65536, pos)
            handle.seek(pos - step)
            chunk = handle.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                handle.truncate(pos - step + cut + 1)
                return
            pos -= step
        handle.truncate(0)


def _records(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn line from a crash
    return records


def _read(path: Path) -> tuple[SessionMeta, list[Message], list[Message]]:
    records = _records(path)
    if not records or records[0].get("kind") != "meta":
        raise SessionNotFound(f"{path} is not a qagent session log (no meta record)")
    meta = SessionMeta.model_validate({k: v for k, v in records[0].items() if k != "kind"})
    messages: list[Message] = []
    for record in records[1:]:
        if record.get("kind") == "message":
            messages.append(Message.model_validate(record["message"]))
        elif record.get("kind") == "reset":
            messages = [Message.model_validate(m) for m in record["messages"]]
    unanswered = _unanswered_calls(messages)
    return meta, messages + unanswered, unanswered


def _unanswered_calls(messages: list[Message]) -> list[Message]:
    """Tool messages for calls of the last assistant message that have no result yet."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "assistant" and message.tool_calls:
            answered = {m.tool_call_id for m in messages[index + 1 :] if m.role == "tool"}
            return [
                Message(role="tool", tool_call_id=call.id, name=call.name, content=OUTCOME_UNKNOWN)
                for call in message.tool_calls
                if call.id not in answered
            ]
        if message.role == "user":
            return []
    return []


def load_conversation(path: Path) -> tuple[SessionMeta, list[Message]]:
    """The conversation as it stood, tolerating a torn last line; in-flight tool calls come back
    answered with an "outcome unknown" result so the provider accepts the history."""
    meta, messages, _ = _read(Path(path))
    return meta, messages


# ---------------------------------------------------------------------- listing


def _summary_path(log: Path) -> Path:
    return log.with_name(log.stem + ".summary.json")


def _info(path: Path) -> SessionInfo | None:
    """From the summary file when it describes the log as it is now, else by scanning the log."""
    try:
        summary = json.loads(_summary_path(path).read_text())
        stat = path.stat()
        if summary["log_size"] == stat.st_size:
            return SessionInfo(
                summary["id"], summary["repo"], summary["first_prompt"], float(summary["started"]),
                float(summary["cost_usd"]), path, stat.st_mtime,
            )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return _scan(path)


def _scan(path: Path) -> SessionInfo | None:
    first_prompt, cost, meta = "", 0.0, None
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            wanted = meta is None or '"usage_reported"' in line or (not first_prompt and '"user"' in line)
            if not wanted:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if meta is None:
                if record.get("kind") != "meta":
                    return None
                meta = record
            elif record.get("kind") == "event" and record["event"].get("type") == "usage_reported":
                cost += float(record["event"].get("cost_usd", 0.0))
            elif record.get("kind") == "message" and record["message"].get("role") == "user":
                first_prompt = first_prompt or str(record["message"].get("content", ""))
    if meta is None:
        return None
    return SessionInfo(
        meta["id"], meta["repo"], first_prompt, float(meta["started"]), cost, path, path.stat().st_mtime
    )


def list_sessions(data_dir: Path, repo: Path | None = None) -> list[SessionInfo]:
    """All sessions (or those of ``repo``), most recently active first."""
    folder = Path(data_dir) / "sessions"
    wanted = str(Path(repo).resolve()) if repo is not None else None
    infos = [info for path in folder.glob("*.jsonl") if (info := _info(path)) is not None]
    if wanted is not None:
        infos = [i for i in infos if i.repo == wanted]
    return sorted(infos, key=lambda i: (i.updated, i.started), reverse=True)


def find_session(data_dir: Path, id_or_prefix: str | None, repo: Path) -> SessionInfo:
    """``--resume ID`` (any unique prefix, any repo) or ``--continue`` (None: latest for ``repo``)."""
    if id_or_prefix is None:
        mine = list_sessions(data_dir, repo)
        if not mine:
            raise SessionNotFound(f"no earlier session for {Path(repo).resolve()}; start one with `qagent`")
        return mine[0]
    matches = [i for i in list_sessions(data_dir) if i.id.startswith(id_or_prefix)]
    exact = [i for i in matches if i.id == id_or_prefix]
    if exact or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise SessionNotFound(f"no session id starts with {id_or_prefix!r}; `qagent sessions` lists them")
    names = ", ".join(i.id for i in matches[:5])
    raise SessionNotFound(f"{id_or_prefix!r} matches {len(matches)} sessions ({names}); type more of the id")
