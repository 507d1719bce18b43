"""Packs: budgets, exclusions, nesting, and byte stability for the provider's prefix cache."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from ctxhelpers import git, write
from typer.testing import CliRunner

from agent.cli.context import register
from agent.context.packer import build_nested_packs, build_pack
from agent.context.repomap import RepoMap
from agent.context.tokens import count_tokens

SECRETS = {
    ".env": "DEEPSEEK_API_KEY=sk-live-secret-value\n",
    "keys/id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    "certs/server.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "config/credentials.json": '{"token": "hunter2"}\n',
    "app/settings_local.py": "KEY = '''-----BEGIN RSA PRIVATE KEY-----\nabc\n'''\n",
    "package-lock.json": '{"lockfileVersion": 3}\n',
    "docs/ops-notes.txt": "prod key:\n-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n",
    "docs/token.md": "use ghp_abcdefghijklmnopqrstuvwxyz0123456789AB for the bot\n",
    "ignored_dir/notes.py": "def secret_plan():\n    pass\n",
    ".gitignore": "ignored_dir/\n",
}


def test_secret_ignored_and_lock_files_never_appear(repo: Path, cache_dir: Path) -> None:
    write(repo, SECRETS)
    rm = RepoMap(repo, cache_dir=cache_dir)
    pack = build_pack(repo, 100_000, query="settings credentials key token", repo_map=rm)
    listed = set(pack.full_files) | set(pack.mapped_files)
    for name in SECRETS:
        if name != ".gitignore":
            assert name not in listed
    for needle in (
        "sk-live-secret-value",
        "PRIVATE KEY",
        "hunter2",
        "secret_plan",
        "lockfileVersion",
        "ghp_",
    ):
        assert needle not in pack.text
    assert "app/db.py" in pack.full_files


def test_pack_never_exceeds_budget(repo: Path, cache_dir: Path, real_tokenizer: None) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    for budget in (256, 300, 500, 2_000):
        for family in ("generic", "deepseek", "qwen"):
            pack = build_pack(repo, budget, "invoice total", model_family=family, repo_map=rm)
            assert pack.tokens == count_tokens(pack.text, family) <= budget


def test_nested_packs_share_one_ranking(repo: Path, cache_dir: Path, real_tokenizer: None) -> None:
    write(repo, {f"pkg/m{i}.py": f"def fn{i}(x):\n    return x + {i}\n" * 30 for i in range(12)})
    packs = build_nested_packs(
        repo, [1024, 4096, 16_384], "invoice", repo_map=RepoMap(repo, cache_dir=cache_dir)
    )
    sizes = [set(p.full_files) for p in packs]
    assert sizes[0] <= sizes[1] <= sizes[2] and len(sizes[2]) > len(sizes[0])
    assert all(p.tokens <= b for p, b in zip(packs, [1024, 4096, 16_384], strict=True))


def test_unchanged_repo_gives_byte_identical_packs(repo: Path, cache_dir: Path) -> None:
    first = build_pack(repo, 4000, "invoice total", repo_map=RepoMap(repo, cache_dir=cache_dir))
    second = build_pack(repo, 4000, "invoice total", repo_map=RepoMap(repo, cache_dir=cache_dir))
    assert first.text == second.text and first.full_files == second.full_files


def test_edit_moves_the_file_last_and_keeps_the_prefix(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    before = build_pack(repo, 8000, "invoice", repo_map=rm)
    edited = "app/models.py"
    assert edited in before.full_files and before.full_files[-1] != edited

    def edit(extra: str) -> None:
        (repo / edited).write_text((repo / edited).read_text() + extra)

    edit("\n\ndef refund():\n    pass\n")
    after = build_pack(repo, 8000, "invoice", repo_map=rm)
    assert after.full_files[-1] == edited
    assert [p for p in before.full_files if p != edited] == list(after.full_files[:-1])
    # Everything before the edited file's old place is shared, byte for byte.
    old_place = before.text.index(f'<file path="{edited}">')
    assert after.text[:old_place] == before.text[:old_place]
    # Once last, a further edit to it keeps every other file in the shared prefix.
    edit("\n\ndef refund_all():\n    pass\n")
    again = build_pack(repo, 8000, "invoice", repo_map=rm)
    cut = after.text.index(f'<file path="{edited}">')
    assert again.text[:cut] == after.text[:cut] and "def refund_all" in again.text[cut:]


def test_pack_command_json(repo: Path, monkeypatch, tmp_path: Path) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    monkeypatch.chdir(repo / "app")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    out_file = tmp_path / "pack.txt"
    result = CliRunner().invoke(
        app, ["pack", "--budget", "3000", "--query", "invoice", "--json", "-o", str(out_file)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["tokens"] <= 3000 and "app/models.py" in data["full_files"]
    assert all(not p.startswith("/") for p in data["full_files"] + data["mapped_files"])
    assert out_file.read_text().startswith("<repository_pack>")
    result = CliRunner().invoke(app, ["map", "--tokens", "500", "--focus", "models.py", "--focus", "slugify"])
    assert result.exit_code == 0 and "app/db.py:" in result.stdout


def test_git_untracked_files_are_included(repo: Path, cache_dir: Path) -> None:
    write(repo, {"app/fresh.py": "def fresh_helper():\n    return 1\n"})
    git(repo, "status")
    pack = build_pack(repo, 20_000, "fresh helper", repo_map=RepoMap(repo, cache_dir=cache_dir))
    assert "app/fresh.py" in pack.full_files
