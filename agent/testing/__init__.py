"""Testing aids shipped with qagent: a scripted OpenAI-compatible server on loopback.

``python -m agent.testing serve --script S.json --dialect vllm`` or, from Python,
``with ScriptedServer(script, dialect="deepseek") as server: ...`` (see server.py).
"""

from agent.testing.script import DIALECTS, Fault, Reply, ScriptedCall
from agent.testing.server import ScriptedServer

__all__ = ["DIALECTS", "Fault", "Reply", "ScriptedCall", "ScriptedServer"]
