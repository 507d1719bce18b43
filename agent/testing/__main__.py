"""``python -m agent.testing serve --script SCRIPT.json [--dialect D] [--port 0] [--record REQS.jsonl]``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from agent.testing.script import DIALECTS
from agent.testing.server import ScriptedServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a script on 127.0.0.1")
    serve.add_argument("--script", required=True, type=Path, help="JSON list, one entry per request")
    serve.add_argument("--dialect", default="openai", choices=DIALECTS)
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--record", type=Path, help="append every request as a JSON line here")
    serve.add_argument("--model-id", action="append", dest="model_ids")
    serve.add_argument("--context-length", type=int, default=65536)
    serve.add_argument("--send-log", type=Path, help="append when each streamed chunk left (benchmarks)")
    args = parser.parse_args(argv)
    try:
        script = json.loads(args.script.read_text(encoding="utf-8"))
        server = ScriptedServer(script, dialect=args.dialect, port=args.port, record_path=args.record,
                                model_ids=args.model_ids, context_length=args.context_length,
                                send_log=args.send_log)
    except (OSError, ValueError) as exc:
        print(f"error: cannot load script {args.script}: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
