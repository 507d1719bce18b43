"""Helpers shared by the context tests (imported by name; test dirs have no __init__)."""

from __future__ import annotations

from tests.repos import git, write

__all__ = ["PROJECT", "git", "write"]


PROJECT = {
    "app/models.py": "from app.db import Connection, query_rows\n\n\nclass Invoice:\n"
    "    def total(self):\n        return query_rows(Connection(), 'x')\n",
    "app/db.py": "class Connection:\n    def open(self):\n        return 1\n\n\n"
    "def query_rows(conn, sql):\n    return conn.open()\n",
    "app/views.py": "from app.models import Invoice\n\n\ndef invoice_view(request):\n"
    "    return Invoice().total()\n",
    "app/unrelated.py": "def banner():\n    return 'hello'\n\n\ndef shout(text):\n    return text.upper()\n",
    "lib/strings.py": "def slugify(value):\n    return value.lower()\n",
    "README.md": "# Demo project\nInvoices and a database layer.\n",
}
