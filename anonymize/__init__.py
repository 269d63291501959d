"""The privacy library: keys, pseudonyms, the identity vault's sealing, masking, and taking
an erased learner out of other learners' Groups.

Pure functions and keys: no I/O except reading or creating a key file through an explicit
function, no configuration read from the environment. Use it inside or outside the service::

    from anonymize import Keyring, Pseudonymizer

    pseudonymizer = Pseudonymizer(Keyring.from_file("lrs.key"), tenant="school-a")
    stored, originals = pseudonymizer.pseudonymize_statement(statement)

What leaves the LRS under a data-sharing agreement is made here too: the field allow-list
and the reduced statement (`Selection`), the ids re-keyed per agreement (`Rekeyer`) and the
quasi-identifier rule (`GroupCounter`).

Errors, one root::

    AnonymizeError            any privacy-library problem
     +-- KeyringError         key material that is not a 256-bit base64url key (or tenant
     |    |                   key text that is not well formed)
     |    +-- KeyFileError    a key file that is missing, exists already or is too open
     +-- PseudonymError       an agent position holding no usable identifier
     +-- VaultError           a sealed blob (vault entry, export cursor) that cannot be opened
     |                        (tampered, wrong key or AAD)
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
from anonymize.generalize import Generalization, GroupCounter
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
from anonymize.minimize import (
    EXTENSION_PREFIX,
    LEARNER_FIELDS,
    MISSING,
    STATEMENT_FIELDS,
    Selection,
)
from anonymize.pseudonymizer import (
    DEFAULT_HOME_PAGE,
    Pseudonymized,
    Pseudonymizer,
    canonical_ifi,
    restore_statement,
)
from anonymize.rekey import Rekeyer
from anonymize.vault import seal, sealed_key_id, unseal

__all__ = [
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
