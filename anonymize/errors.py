"""The errors of the `anonymize` package, all under one root.

    AnonymizeError            any privacy-library problem
     +-- KeyringError         key material that is not a 256-bit base64url key
     |    +-- KeyFileError    a key file that is missing, exists already or is too open
     +-- PseudonymError       an agent position holding no usable identifier
     +-- VaultError           a sealed blob (vault entry, export cursor) that cannot be
     |                        opened (tampered, wrong key or AAD)
     +-- MaskingError         a masking configuration naming an unsupported field

Messages name paths and rules, never key material, identifiers or names.
"""

from __future__ import annotations


class AnonymizeError(Exception):
    """Root of every error raised by `anonymize`."""


class KeyringError(AnonymizeError):
    """Key material cannot be used as a master key."""


class KeyFileError(KeyringError):
    """A key file cannot be created or trusted."""


class PseudonymError(AnonymizeError):
    """An agent cannot be pseudonymized; storing it raw would leak an identity."""


class VaultError(AnonymizeError):
    """A sealed blob cannot be opened."""


class MaskingError(AnonymizeError):
    """A masking policy is configured with something it cannot apply."""
