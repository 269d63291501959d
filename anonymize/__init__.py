"""The privacy library: keys, pseudonyms, the identity vault's sealing, masking, and taking
an erased learner out of other learners' Groups.

Pure functions and keys: no I/O except reading or creating a key file through an explicit
function, no configuration read from the environment. Use it inside or outside the service::

    from anonymize import Keyring, Pseudonymizer

    pseudonymizer = Pseudonymizer(Keyring.from_file("lrs.key"), tenant="school-a")
    stored, originals = pseudonymizer.pseudonymize_statement(statement)

Errors, one root::

    AnonymizeError            any privacy-library problem
     +-- KeyringError         key material that is not a 256-bit base64url key (or tenant
     |    |                   key text that is not well formed)
     |    +-- KeyFileError    a key file that is missing, exists already or is too open
     +-- PseudonymError       an agent position holding no usable identifier
     +-- VaultError           a sealed blob that cannot be opened (tampered, wrong key or AAD)
     +-- MaskingError         a masking configuration naming an unsupported field
"""

from __future__ import annotations

from anonymize.erasure import Withdrawn, withdraw_member
from anonymize.errors import (
    AnonymizeError,
    KeyFileError,
    KeyringError,
    MaskingError,
    PseudonymError,
    VaultError,
)
from anonymize.keys import (
    SHARED_PURPOSES,
    DerivedKey,
    Keyring,
    Purpose,
    init_key_file,
    load_tenant_keys,
    parse_tenant_keys,
    write_tenant_keys,
)
from anonymize.masking import SUPPORTED_DROP_FIELDS, MaskingPolicy
from anonymize.pseudonymizer import (
    DEFAULT_HOME_PAGE,
    Pseudonymized,
    Pseudonymizer,
    canonical_ifi,
    restore_statement,
)
from anonymize.vault import seal, sealed_key_id, unseal

__all__ = [
    "DEFAULT_HOME_PAGE",
    "SHARED_PURPOSES",
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
