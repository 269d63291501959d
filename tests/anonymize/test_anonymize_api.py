"""The public API of `anonymize` (STYLE.md practice 9)."""

from __future__ import annotations

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
    "SUPPORTED_DROP_FIELDS",
    "AnonymizeError",
    "DerivedKey",
    "KeyFileError",
    "Keyring",
    "KeyringError",
    "MaskingError",
    "MaskingPolicy",
    "PseudonymError",
    "Pseudonymized",
    "Pseudonymizer",
    "Purpose",
    "VaultError",
    "canonical_ifi",
    "init_key_file",
    "restore_statement",
    "seal",
    "sealed_key_id",
    "unseal",
]


def test_all_is_sorted_and_exact():
    assert anonymize.__all__ == EXPECTED
    public = {name for name in vars(anonymize) if not name.startswith("_")}
    submodules = {"errors", "keys", "masking", "pseudonymizer", "vault", "annotations"}
    assert public - submodules == set(EXPECTED)
    for name in EXPECTED:
        assert getattr(anonymize, name) is not None


def test_error_tree():
    assert issubclass(KeyFileError, KeyringError)
    for error in (KeyringError, PseudonymError, VaultError, MaskingError):
        assert issubclass(error, AnonymizeError)


def test_importable_standalone_without_flask_or_storage(tmp_path):
    """`from anonymize import Pseudonymizer` works outside the service and pulls in no I/O layer."""
    root = Path(anonymize.__file__).resolve().parent.parent
    code = (
        "import sys; from anonymize import Pseudonymizer, Keyring; "
        "Pseudonymizer(Keyring.generate()).pseudonym({'mbox': 'mailto:a@b.c'}); "
        "bad = [m for m in ('flask', 'storage', 'lrs', 'statements', 'sqlite3', 'pymongo') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
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
