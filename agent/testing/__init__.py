"""Testing aids shipped with qagent: a scripted OpenAI-compatible server on loopback.

``python -m agent.testing serve --script S.json --dialect vllm`` or, from Python,
``with ScriptedServer(script, dialect="deepseek") as server: ...`` (see server.py).
``ScriptedPool`` runs the same scripts in-process, for tests of the loop alone (inprocess.py).
"""

from agent.testing.inprocess import ScriptedPool
from agent.testing.script import DIALECTS, Fault, Reply, ScriptedCall
from agent.testing.server import ScriptedServer

__all__ = ["DIALECTS", "Fault", "Reply", "ScriptedCall", "ScriptedPool", "ScriptedServer"]
