"""The public API of `anonymize` (STYLE.md practice 9)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import anonymize
from anonymize import (
    AnonymizeError,
    KeyFileError,
    KeyringError,
    MaskingError,
    PseudonymError,
    VaultError,
)

EXPECTED = [
    "DEFAULT_HOME_PAGE",
    "EXTENSION_PREFIX",
    "LEARNER_FIELDS",
    "MISSING",
    "SHARED_PURPOSES",
    "STATEMENT_FIELDS",
    "SUPPORTED_DROP_FIELDS",
    "AnonymizeError",
    "DerivedKey",
    "Generalization",
    "GroupCounter",
    "KeyFileError",
    "Keyring",
    "KeyringError",
    "MaskingError",
    "MaskingPolicy",
    "PseudonymError",
    "Pseudonymized",
    "Pseudonymizer",
    "Purpose",
    "Rekeyer",
    "Selection",
    "VaultError",
    "Withdrawn",
    "canonical_ifi",
    "init_key_file",
    "load_tenant_keys",
    "parse_tenant_keys",
    "restore_statement",
    "seal",
    "sealed_key_id",
    "unseal",
    "withdraw_member",
    "write_tenant_keys",
]


def test_all_is_sorted_and_exact():
    assert anonymize.__all__ == EXPECTED
    public = {name for name in vars(anonymize) if not name.startswith("_")}
    submodules = {"erasure", "errors", "generalize", "keys", "masking", "minimize",
                  "pseudonymizer", "rekey", "suppression", "vault", "annotations"}
    assert public - submodules == set(EXPECTED)
    for name in EXPECTED:
        assert getattr(anonymize, name) is not None


def test_error_tree():
    assert issubclass(KeyFileError, KeyringError)
    for error in (KeyringError, PseudonymError, VaultError, MaskingError):
        assert issubclass(error, AnonymizeError)


def test_importable_standalone_without_flask_or_storage(tmp_path):
    """`from anonymize import Pseudonymizer` works outside the service and pulls in no I/O
    layer, and of `statements` only the walker (standard library only), not the data model."""
    root = Path(anonymize.__file__).resolve().parent.parent
    code = (
        "import sys; from anonymize import Pseudonymizer, Keyring; "
        "Pseudonymizer(Keyring.generate()).pseudonym({'mbox': 'mailto:a@b.c'}); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'storage', 'lrs', 'statements', 'marshmallow', 'sqlite3', 'pymongo') "
        "and m not in ('statements', 'statements.walk')]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_imports_only_the_walker_of_ours():
    """The layering decision (statements/walk.py docstring): `anonymize` imports
    `statements.walk` and nothing else of ours."""
    ours = {"anonymize", "statements", "storage", "lrs"}
    found = set()
    for path in Path(anonymize.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    foreign = {m for m in found if m.split(".")[0] in ours - {"anonymize"}}
    assert foreign == {"statements.walk"}
