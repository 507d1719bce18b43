"""Landlock-only confinement, for machines where bubblewrap cannot create namespaces.

Run as a tiny launcher (``python -I -S tools/landlock.py --rw DIR ... [--no-net] -- CMD ...``):
it restricts *itself* and then execs the command, so the rules hold for the command and all its
children. Only writes are confined (reads stay allowed everywhere: Landlock cannot express "all
but these files", so secrets are not masked here — bwrap does that). With ``--no-net`` and ABI 4+
TCP connect/bind are refused. Standard library only: it runs before anything else is imported.
"""

from __future__ import annotations

import ctypes
import os
import sys

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # same numbers on every architecture
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_CREATE_RULESET_VERSION = 1

_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable or disabled."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0),
                           ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def restrict_writes(writable: list[str], *, no_network: bool) -> None:
    """Allow writes only beneath ``writable`` (and TCP only when ``no_network`` is false)."""
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available on this kernel")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    write = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    if abi >= 2:
        write |= _REFER
    if abi >= 3:
        write |= _TRUNCATE
    attr = _RulesetAttr(write, (_NET_BIND_TCP | _NET_CONNECT_TCP) if no_network and abi >= 4 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else 8
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    for path in writable:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        is_dir = os.path.isdir(path)  # noqa: PTH112 - stdlib-only launcher, keep imports minimal
        allowed = write if is_dir else write & (_WRITE_FILE | _TRUNCATE)
        rule = _PathBeneathAttr(allowed, fd)
        result = libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                              ctypes.byref(rule), ctypes.c_uint32(0))
        os.close(fd)
        if result < 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)


def main(argv: list[str]) -> None:
    writable: list[str] = []
    no_network = False
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--rw":
            writable.append(argv[i + 1])
            i += 2
        elif argv[i] == "--no-net":
            no_network = True
            i += 1
        else:
            sys.exit(f"landlock launcher: unknown option {argv[i]!r}")
    command = argv[i + 1 :]
    if not command:
        sys.exit("landlock launcher: no command after --")
    try:
        restrict_writes(writable, no_network=no_network)
    except OSError as exc:
        sys.exit(f"landlock launcher: {exc}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
