"""Checkpoints and undo on real git repositories (and outside git)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.git import checkpoints as gitops
from agent.git import worktrees
from agent.git.checkpoints import Checkpointer
from tests.repos import git, git_state, make_repo, tree_state


def agent_turn(repo: Path) -> None:
    """What a turn of edits looks like on disk: edit, create, delete, rename, chmod, symlink."""
    (repo / "a.txt").write_text("alpha edited by agent\n")
    (repo / "new").mkdir()
    (repo / "new" / "made.txt").write_bytes(b"\x00binary\xffcontent")
    (repo / "b.txt").unlink()
    (repo / "dir2").mkdir()
    (repo / "dir" / "c.py").rename(repo / "dir2" / "c.py")
    (repo / "run.sh").chmod(0o644)
    (repo / "link").symlink_to("a.txt")


def user_dirty_work(repo: Path) -> None:
    """Uncommitted user work that must survive: unstaged edit, staged edit, untracked and ignored files."""
    (repo / "a.txt").write_text("alpha with the user's unsaved idea\n")
    (repo / "b.txt").write_text("bravo staged by the user\n")
    git(repo, "add", "b.txt")
    (repo / "notes.md").write_text("untracked user notes\n")
    (repo / "build").mkdir()
    (repo / "build" / "cache.bin").write_bytes(b"ignored build output")
    (repo / "debug.log").write_text("ignored log\n")


def test_undo_restores_a_turn_byte_exactly_and_keeps_prior_user_edits(repo: Path) -> None:
    user_dirty_work(repo)
    before, before_git = tree_state(repo), git_state(repo)
    cp = Checkpointer(repo, "s1")
    assert cp.available and cp.notice is None
    cp.begin_turn(1)
    cp.before_change()
    cp.before_change([repo / "a.txt"])  # idempotent within the turn
    agent_turn(repo)
    cp.end_turn()
    assert tree_state(repo) != before
    assert git_state(repo) == before_git

    result = cp.undo()

    assert tree_state(repo) == before
    assert git_state(repo) == before_git
    assert sorted(result.deleted) == ["dir2/c.py", "link", "new/made.txt"]
    assert sorted(result.restored) == ["a.txt", "b.txt", "dir/c.py", "run.sh"]
    assert not (repo / "new").exists() and not (repo / "dir2").exists()
    assert "undid turn 1" in result.message
    shown = git(repo, "show", "refs/qagent/undone/s1/1:dir2/c.py", "--")  # the hint in the message works
    assert "git show refs/qagent/undone/s1/1:" in result.message and shown == "print('c')\n"
    assert git(repo, "rev-list", "--count", "main").strip() == "1"  # no commit on the user's branch


def test_undo_without_end_turn_after_a_crash_uses_the_current_tree(repo: Path) -> None:
    user_dirty_work(repo)
    before = tree_state(repo)
    cp = Checkpointer(repo, "crashy")
    cp.begin_turn(1)
    cp.before_change()
    agent_turn(repo)
    # a new process (qagent undo after a crash) sees the checkpoint through the refs
    result = Checkpointer(repo, "crashy").undo()
    assert tree_state(repo) == before
    assert "made.txt" in " ".join(result.deleted)


def test_user_edits_after_the_turn_to_other_files_survive_undo(repo: Path) -> None:
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change([repo / "a.txt"])
    (repo / "a.txt").write_text("agent\n")
    cp.end_turn()
    (repo / "b.txt").write_text("user typed this after the turn\n")
    (repo / "later.txt").write_text("user file created after the turn\n")
    cp.undo()
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert (repo / "b.txt").read_text() == "user typed this after the turn\n"
    assert (repo / "later.txt").exists()


def test_two_turns_undo_one_at_a_time(repo: Path) -> None:
    s0 = tree_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "a.txt").write_text("one\n")
    cp.end_turn()
    s1 = tree_state(repo)
    cp.begin_turn(2)
    cp.before_change()
    (repo / "a.txt").write_text("two\n")
    (repo / "x.txt").write_text("x\n")
    cp.end_turn()
    assert [c.turn for c in cp.list()] == [1, 2]
    cp.undo()
    assert tree_state(repo) == s1
    cp.undo()
    assert tree_state(repo) == s0
    assert cp.list() == []
    assert "nothing to undo" in cp.undo().message


def test_undo_skips_turns_that_changed_nothing(repo: Path) -> None:
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "a.txt").write_text("real change\n")
    cp.end_turn()
    cp.begin_turn(2)
    cp.before_change()  # e.g. `make test`: checkpointed, changed nothing
    cp.end_turn()
    result = cp.undo()
    assert result.restored == ["a.txt"] and (repo / "a.txt").read_text() == "alpha\n"
    assert cp.list() == []


def test_repo_without_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fresh", commit=False)
    (repo / "draft.py").write_text("x = 1\n")
    before, before_git = tree_state(repo), git_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "draft.py").write_text("x = 2\n")
    (repo / "other.py").write_text("y = 1\n")
    cp.undo()
    assert tree_state(repo) == before
    assert git_state(repo) == before_git
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=repo).returncode != 0


def test_detached_head_and_stash_untouched(repo: Path) -> None:
    (repo / "a.txt").write_text("stashed work\n")
    git(repo, "stash", "-q")
    git(repo, "checkout", "-q", "--detach")
    (repo / "a.txt").write_text("dirty on detached head\n")
    before, before_git = tree_state(repo), git_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    agent_turn(repo)
    cp.end_turn()
    cp.undo()
    assert tree_state(repo) == before
    assert git_state(repo) == before_git
    assert "stash@{0}" in before_git["stash"]


def test_ignored_files_are_never_deleted_but_named_ones_are_restored(repo: Path) -> None:
    (repo / "build").mkdir()
    (repo / "build" / "keep.bin").write_bytes(b"user build")
    (repo / "app.log").write_text("log before\n")
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    cp.before_change([Path("app.log"), Path("build/new.log")])  # ignored, named by a tool later
    (repo / "app.log").write_text("agent rewrote the log\n")
    (repo / "build" / "new.log").write_text("agent output\n")
    (repo / "build" / "from_shell.o").write_text("made by a shell command\n")
    cp.end_turn()
    cp.undo()
    assert (repo / "app.log").read_text() == "log before\n"
    assert not (repo / "build" / "new.log").exists()
    assert (repo / "build" / "keep.bin").read_bytes() == b"user build"
    assert (repo / "build" / "from_shell.o").exists()  # ignored and unnamed: not ours to delete


def test_eol_conversion_does_not_break_byte_exact_restore(repo: Path) -> None:
    (repo / ".gitattributes").write_text("*.txt text=auto eol=lf\n")
    git(repo, "config", "core.autocrlf", "input")
    (repo / "win.txt").write_bytes(b"line one\r\nline two\r\n")
    before = tree_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "win.txt").write_bytes(b"rewritten\n")
    cp.undo()
    assert (repo / "win.txt").read_bytes() == b"line one\r\nline two\r\n"
    assert tree_state(repo) == before


def test_auto_commit_commits_only_the_turns_files(repo: Path) -> None:
    (repo / "b.txt").write_text("user's own staged change\n")
    git(repo, "add", "b.txt")
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "a.txt").write_text("agent change\n")
    (repo / "added.txt").write_text("new\n")
    sha = cp.auto_commit("Update a.txt and add added.txt")
    assert sha and git(repo, "rev-parse", "HEAD").strip() == sha
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == ["a.txt", "added.txt"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["b.txt"]  # still staged, not committed
    assert cp.auto_commit("again") is None  # nothing new since


def test_outside_git_backs_up_named_files(tmp_path: Path) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "keep.txt").write_text("original\n")
    (work / "gone.txt").write_text("will be deleted\n")
    before = tree_state(work)
    cp = Checkpointer(work, "s", backup_dir=tmp_path / "backups")
    assert not cp.available
    assert cp.notice and "not a git repository" in cp.notice
    cp.begin_turn(1)
    cp.before_change([work / "keep.txt", work / "gone.txt", work / "sub" / "created.txt"])
    cp.before_change([work / "keep.txt"])
    (work / "keep.txt").write_text("edited\n")
    (work / "gone.txt").unlink()
    (work / "sub").mkdir()
    (work / "sub" / "created.txt").write_text("new\n")
    result = cp.undo()
    assert sorted(result.restored) == ["gone.txt", "keep.txt"]
    assert result.deleted == ["sub/created.txt"]
    state = tree_state(work)
    assert state == before
    assert not (work / ".git").exists()
    assert not (work / "sub").exists()


def test_worktree_helpers(repo: Path, tmp_path: Path) -> None:
    wt = worktrees.create_worktree(repo, "main", "qagent/job-1", tmp_path / "wt")
    assert (wt / "a.txt").read_text() == "alpha\n"
    (wt / "a.txt").write_text("job edit\n")
    # checkpoints inside a worktree work and stay private too
    cp = Checkpointer(wt, "job")
    cp.begin_turn(1)
    cp.before_change()
    (wt / "a.txt").write_text("agent edit in worktree\n")
    cp.undo()
    assert (wt / "a.txt").read_text() == "job edit\n"
    worktrees.remove_worktree(repo, wt, branch="qagent/job-1")
    assert not wt.exists()
    assert "qagent/job-1" not in git(repo, "branch", "--list")


def test_git_is_never_renamed_or_rewritten(repo: Path) -> None:
    head_sha = git(repo, "rev-parse", "HEAD")
    config = (repo / ".git" / "config").read_bytes()
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    shutil.rmtree(repo / "dir")
    cp.undo()
    assert git(repo, "rev-parse", "HEAD") == head_sha
    assert (repo / ".git" / "config").read_bytes() == config
    assert git(repo, "status", "--porcelain") == ""


def test_a_file_changed_by_shell_then_named_by_an_edit_tool_still_restores_the_original(repo: Path) -> None:
    before = tree_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()  # shell command: whole-tree checkpoint
    (repo / "a.txt").write_text("changed by the shell command\n")
    (repo / "gen.log").write_text("ignored file made by the shell\n")
    cp.before_change([repo / "a.txt", repo / "gen.log"])  # then an edit tool names them
    (repo / "a.txt").write_text("then edited by a tool\n")
    cp.end_turn()
    cp.undo()
    assert (repo / "a.txt").read_text() == "alpha\n"
    state = tree_state(repo)
    state.pop("gen.log", None)  # an ignored file first named after it appeared is kept, never lost
    assert state == before


def test_a_resumed_session_never_overwrites_earlier_checkpoints(repo: Path) -> None:
    first = Checkpointer(repo, "same")
    first.begin_turn(1)
    first.before_change()
    (repo / "a.txt").write_text("turn one\n")
    first.end_turn()
    resumed = Checkpointer(repo, "same")  # new process, the loop counts turns from 1 again
    resumed.begin_turn(1)
    resumed.before_change()
    (repo / "a.txt").write_text("turn two\n")
    resumed.end_turn()
    assert [c.turn for c in resumed.list()] == [1, 2]
    resumed.undo()
    assert (repo / "a.txt").read_text() == "turn one\n"
    resumed.undo()
    assert (repo / "a.txt").read_text() == "alpha\n"


def test_huge_untracked_files_are_left_out_not_copied_into_git(repo: Path) -> None:
    from agent.git.plumbing import MAX_UNTRACKED_BYTES

    big = repo / "dataset.bin"
    with big.open("wb") as handle:  # sparse: large apparent size, no disk use
        handle.truncate(MAX_UNTRACKED_BYTES + 1)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "a.txt").write_text("agent\n")
    with big.open("r+b") as handle:
        handle.write(b"agent touched the dataset")
    cp.end_turn()
    result = cp.undo()
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert big.exists() and big.read_bytes()[:5] == b"agent"  # never deleted, never rewritten
    assert "not covered" in result.message and "dataset.bin" in result.message
    objects = sum(f.stat().st_size for f in (repo / ".git" / "objects").rglob("*") if f.is_file())
    assert objects < 5_000_000


def test_text_attributes_everywhere_still_restore_exact_bytes(repo: Path) -> None:
    (repo / ".gitattributes").write_text("* text=auto\n")
    (repo / "crlf.txt").write_bytes(b"a\r\nb\r\n")
    (repo / "lf.txt").write_bytes(b"plain\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "attrs")
    (repo / "crlf.txt").write_bytes(b"dirty\r\nedit\r\n")  # the user's CRLF edit, before the turn
    before = tree_state(repo)
    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "crlf.txt").write_bytes(b"agent\n")
    (repo / "lf.txt").write_bytes(b"agent\n")
    cp.undo()
    assert tree_state(repo) == before


def test_old_checkpoints_are_pruned(repo: Path) -> None:
    import time

    cp = Checkpointer(repo, "busy")
    for turn in range(1, 5):
        cp.begin_turn(turn)
        cp.before_change()
        (repo / "a.txt").write_text(f"turn {turn}\n")
        cp.end_turn()
    assert gitops.prune_checkpoints(repo, keep_per_session=2) == 4  # turns 1, 2: before + after refs
    assert [c.turn for c in cp.list()] == [3, 4]
    assert gitops.prune_checkpoints(repo, max_age_days=30, now=time.time() + 31 * 86400) == 4
    assert cp.list() == [] and git(repo, "for-each-ref", "refs/qagent/") == ""


def test_same_size_edits_in_the_same_second_are_seen(tmp_path: Path) -> None:
    """git's "racy clean" case: a file rewritten with the same size right after it was indexed."""
    for attempt in range(15):
        repo = make_repo(tmp_path / f"r{attempt}")
        cp = Checkpointer(repo, "s")
        cp.begin_turn(1)
        cp.before_change()
        (repo / "a.txt").write_text("agent\n")  # same size as "alpha\n", same second as the commit
        cp.end_turn()
        cp.undo()
        assert (repo / "a.txt").read_text() == "alpha\n", attempt


def test_turn_diff_and_auto_commit_leave_ignored_files_alone(repo: Path) -> None:
    import prompts

    cp = Checkpointer(repo, "s")
    cp.begin_turn(1)
    cp.before_change([repo / "trace.log"])  # ignored file the agent writes
    (repo / "a.txt").write_text("alpha\nbeta\n")
    (repo / "trace.log").write_text("debug output\n")
    diff = cp.turn_diff()
    assert "+beta" in diff and "a.txt" in diff
    prompt = prompts.render("commit", request="add beta", diff=diff)
    assert "+beta" in prompt and "add beta" in prompt
    sha = cp.auto_commit("Add beta to a.txt")
    assert sha is not None
    assert git(repo, "show", "--name-only", "--format=%s", "HEAD").split() == [
        "Add",
        "beta",
        "to",
        "a.txt",
        "a.txt",
    ]
    assert git(repo, "log", "-1", "--format=%an", "HEAD").strip() == "Test User"  # the user's identity


def test_remove_worktree_cleans_up_half_made_or_locked_worktrees(repo: Path, tmp_path: Path) -> None:
    locked = worktrees.create_worktree(repo, "main", "job-locked", tmp_path / "locked")
    git(repo, "worktree", "lock", str(locked))
    worktrees.remove_worktree(repo, locked, branch="job-locked")
    gone = worktrees.create_worktree(repo, "main", "job-gone", tmp_path / "gone")
    shutil.rmtree(gone)  # a killed run deleted the folder but not git's record
    worktrees.remove_worktree(repo, gone, branch="job-gone")
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "branch", "--list", "job-*") == ""


def test_worktrees_of_one_repo_never_share_or_apply_each_others_checkpoints(
    repo: Path, tmp_path: Path
) -> None:
    wt = worktrees.create_worktree(repo, "main", "feature", tmp_path / "wt")
    main_cp, wt_cp = Checkpointer(repo, "adhoc"), Checkpointer(wt, "adhoc")
    for cp, where, text in [(main_cp, repo, "main edit\n"), (wt_cp, wt, "worktree edit\n")]:
        cp.begin_turn(1)
        cp.before_change()
        (where / "a.txt").write_text(text)
        (where / f"{where.name}.new").write_text("x\n")
        cp.end_turn()
    assert [c.turn for c in main_cp.list()] == [1] and [c.turn for c in wt_cp.list()] == [1]
    assert len(gitops.list_checkpoints(repo)) == 1 and len(gitops.list_checkpoints(wt)) == 1
    main_cp.undo()
    assert (repo / "a.txt").read_text() == "alpha\n" and not (repo / "repo.new").exists()
    assert (wt / "a.txt").read_text() == "worktree edit\n" and (wt / "wt.new").exists()
    assert "nothing to undo" in main_cp.undo().message  # the worktree's turn is not ours
    wt_cp.undo()
    assert (wt / "a.txt").read_text() == "alpha\n"


def test_hook_refuses_a_change_it_cannot_checkpoint(repo: Path) -> None:
    hook = gitops.CheckpointHook(Checkpointer(repo, "s"))
    hook.begin_turn(1)
    objects = repo / ".git" / "objects"
    objects.chmod(0o500)  # git cannot write the snapshot's objects
    try:
        if os.access(objects, os.W_OK):  # root ignores permissions: break the object store instead
            objects.chmod(0o700)
            shutil.move(objects, repo / ".git" / "objects-away")
            (repo / ".git" / "objects").write_text("not a directory")
        (repo / "fresh.txt").write_text("new content to hash\n")
        with pytest.raises(gitops.CheckpointError, match="could not checkpoint"):
            hook.before_change("write_file", {"path": "a.txt", "content": "x"})
    finally:
        if (repo / ".git" / "objects-away").exists():
            (repo / ".git" / "objects").unlink()
            shutil.move(repo / ".git" / "objects-away", objects)
        objects.chmod(0o755)
    hook.before_change("read_file", {"path": "a.txt"})  # reads never need a checkpoint
