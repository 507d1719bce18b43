"""A scripted OpenAI-compatible model server on loopback.

Real HTTP (HTTP/1.1, chunked SSE), one script entry per chat request, dialect quirks from
PROTOCOLS.md, faults, and a recorder of every request so tests can assert what went on the wire.
Users test their own embeddings with it too::

    with ScriptedServer([{"text": "hello"}], dialect="vllm") as server:
        config.models["local"].base_url = server.url
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agent.testing.script import ChunkBuilder, Fault, Reply, parse_entry


class ScriptedServer:
    def __init__(
        self,
        script: list[dict[str, Any]] | None = None,
        *,
        dialect: str = "openai",
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: Path | str | None = None,
        model_ids: list[str] | None = None,
        context_length: int = 65536,
        send_log: Path | str | None = None,
    ) -> None:
        self.dialect = dialect
        self.entries: list[Reply | Fault] = [parse_entry(e) for e in script or []]
        self.requests: list[dict[str, Any]] = []
        self.record_path = Path(record_path) if record_path else None
        self.model_ids = model_ids or ["scripted-model"]
        self.context_length = context_length
        self.send_log = Path(send_log) if send_log else None
        """When set, each streamed reply appends one JSON line: [[perf_counter, content chars], ...]
        per chunk as it left, so a benchmark can measure a front end's lag from the server."""
        self._cursor = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for an OpenAI client (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="scripted-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ script
    def extend(self, script: list[dict[str, Any]]) -> None:
        with self._lock:
            self.entries.extend(parse_entry(e) for e in script)

    @property
    def remaining(self) -> int:
        return len(self.entries) - self._cursor

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completion requests received, in order."""
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next_entry(self) -> Reply | Fault | None:
        with self._lock:
            if self._cursor >= len(self.entries):
                return None
            entry = self.entries[self._cursor]
            self._cursor += 1
            return entry

    def _record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(record)
            if self.record_path:
                with self.record_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")


def _make_handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def setup(self) -> None:
            super().setup()
            # Small SSE writes + Nagle + delayed ACK would add ~40 ms per request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        # ---------------------------------------------------------- plumbing
        def _read_body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw or b"{}")
            except json.JSONDecodeError:
                return {"_raw": raw.decode("utf-8", "replace")}

        def _record(self, body: dict[str, Any] | None) -> None:
            server._record({"method": self.command, "path": self.path, "time": time.time(),
                            "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error",
                   headers: dict[str, str] | None = None) -> None:
            self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": kind}},
                       headers)

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _sse(self, payload: dict[str, Any]) -> None:
            self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

        def _start_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _reset(self) -> None:
            """Abort the TCP connection with RST, like a proxy dying mid-stream."""
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        # ---------------------------------------------------------- routes
        def do_GET(self) -> None:
            self._record(None)
            path = self.path.split("?")[0].rstrip("/")
            if path in ("/v1/models", "/models"):
                data = [{"id": m, "object": "model", "owned_by": server.dialect,
                         "max_model_len": server.context_length} for m in server.model_ids]
                self._json(200, {"object": "list", "data": data})
            elif path in ("/health", "/v1/health"):
                self._json(200, {"status": "ok"})
            elif path == "/props":
                self._json(200, {"default_generation_settings": {"n_ctx": server.context_length},
                                 "total_slots": 1, "model_path": server.model_ids[0]})
            elif path == "/api/tags":
                self._json(200, {"models": [{"name": m, "model": m} for m in server.model_ids]})
            elif path == "/api/ps":
                self._json(200, {"models": [{"name": m, "model": m, "context_length": server.context_length}
                                            for m in server.model_ids]})
            else:
                self._error(404, f"no route {self.path}", "not_found_error")

        def do_POST(self) -> None:
            body = self._read_body()
            self._record(body)
            path = self.path.split("?")[0].rstrip("/")
            if path == "/api/create":
                self._json(200, {"status": "success"})
                return
            if path == "/api/show":
                self._json(200, {"model_info": {"qwen35.context_length": 262144},
                                 "capabilities": ["completion", "tools", "thinking", "vision"]})
                return
            if not path.endswith("/chat/completions"):
                self._error(404, f"no route {self.path}", "not_found_error")
                return
            entry = server._next_entry()
            if entry is None:
                self._error(400, f"scripted server: script exhausted after {len(server.entries)} requests",
                            "script_exhausted")
                return
            if isinstance(entry, Fault):
                self._fault(entry, body)
                return
            if entry.latency:
                time.sleep(entry.latency)
            builder = ChunkBuilder(server.dialect, body.get("model", server.model_ids[0]), entry, body)
            if not body.get("stream"):
                self._json(200, builder.message())
                return
            self._stream(entry, builder.chunks())

        def _stream(self, reply: Reply, chunks: list[dict[str, Any]]) -> None:
            self._start_stream()
            try:
                for _ in range(reply.keepalive):
                    self._write_chunk(b": keep-alive\n\n")
                sent: list[tuple[float, int]] = []
                start = time.perf_counter()
                for number, chunk in enumerate(chunks, start=1):
                    if reply.chunk_delay:  # paced by the clock, so the rate holds however long a write takes
                        time.sleep(max(0.0, start + number * reply.chunk_delay - time.perf_counter()))
                    self._sse(chunk)
                    sent.append((time.perf_counter(), _content_chars(chunk)))
                if server.send_log:
                    with server._lock, server.send_log.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(sent) + "\n")
                if reply.no_done:
                    while not server._stopping.wait(0.2):
                        self._write_chunk(b": keep-alive\n\n")
                    return
                self._write_chunk(b"data: [DONE]\n\n")
                if reply.after_done:
                    self._write_chunk(reply.after_done.encode())
                self._write_chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _fault(self, fault: Fault, body: dict[str, Any]) -> None:
            if fault.fault == "http":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                kinds = {401: "authentication_error", 402: "insufficient_balance", 404: "not_found_error",
                         429: "rate_limit_error"}
                default = {401: "Authentication Fails, Your api key is invalid",
                           402: "Insufficient Balance", 429: "Rate Limit Reached",
                           404: "model not found", 503: "Server Overloaded"}
                self._error(fault.status, fault.message or default.get(fault.status, "Server Error"),
                            kinds.get(fault.status, "api_error"), headers)
            elif fault.fault == "close":
                self._reset()
            elif fault.fault == "reset_midstream":
                reply = fault.reply or Reply(text="partial answer that never finishes " * 3)
                chunks = ChunkBuilder(server.dialect, body.get("model", "m"), reply, body).chunks()
                self._start_stream()
                for chunk in chunks[: fault.after_chunks]:
                    self._sse(chunk)
                self._reset()
            elif fault.fault == "stall":
                self._start_stream()
                self._sse(ChunkBuilder(server.dialect, body.get("model", "m"), Reply(), body).chunks()[0])
                deadline = time.monotonic() + fault.seconds
                try:
                    while time.monotonic() < deadline and not server._stopping.wait(0.2):
                        if fault.keepalive:
                            self._write_chunk(b": keep-alive\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

    return Handler


def _content_chars(chunk: dict[str, Any]) -> int:
    choices = chunk.get("choices") or [{}]
    return len((choices[0].get("delta") or {}).get("content") or "")
