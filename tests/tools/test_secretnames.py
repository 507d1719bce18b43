"""One list of secret-looking file names, and every guard that keeps them from a model agrees on it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from filefixtures import *  # noqa: F403

from tools import sandbox as sandboxes
from tools.secrets import is_secret_name

# Names the repository packer always knew but the sandbox and file tools did not, plus case variants.
SECRETS = ["prod.tfvars", ".envrc", "deploy.secrets", "vault.kdbx", "terraform.tfstate", ".ENV", "Server.PEM",
           "client_secret_123.json", "id_ed25519.old"]
ORDINARY = [".env.example", "settings.py", "keyboard.py", "README.md", "secret_santa.py"]


def test_names_are_matched_case_insensitively_and_templates_stay_readable() -> None:
    assert all(is_secret_name(name) for name in SECRETS)
    assert not any(is_secret_name(name) for name in ORDINARY)
    assert is_secret_name("config/deploy/prod.tfvars"), "a path counts by its last part"


def test_the_sandbox_read_file_and_grep_all_keep_the_same_files_away(call, ws: Path) -> None:
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    for name in SECRETS + ORDINARY:
        (ws / name).write_text("password = hunter2\n")
    assert {p.name for p in sandboxes.secret_files(ws)} == set(SECRETS)
    for name in SECRETS:
        refused = call("read_file", path=name)
        assert not refused.ok and "looks like a secret file" in refused.text and "hunter2" not in refused.text
    assert call("read_file", path=".env.example").ok
    from agent.context.workspace import excluded_by_name

    assert all(excluded_by_name(f"config/{name}") for name in SECRETS), "the packer never packs them either"
    found = call("grep", pattern="hunter2")
    shown = {match["path"] for match in found.data["matches"]}
    assert shown == {"settings.py", "keyboard.py", "README.md", "secret_santa.py"}, (
        "grep also leaves out .env.* templates: their globs cannot be told apart")
