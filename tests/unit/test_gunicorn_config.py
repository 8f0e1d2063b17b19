"""gunicorn's config file is plain Python: a hook defined twice silently keeps only the last."""

import ast
from collections import Counter
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


def test_every_server_hook_is_defined_once():
    tree = ast.parse(CONF.read_text())
    names = Counter(node.name for node in tree.body if isinstance(node, ast.FunctionDef))
    assert [name for name, n in names.items() if n > 1] == []
    assert {"on_starting", "child_exit"} <= set(names)
