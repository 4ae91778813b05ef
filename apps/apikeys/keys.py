"""What an agentry API key looks like, and how it is made and hashed.

A key reads `agentry_<prefix>.<secret>`:

- `agentry_` marks it at sight, for people and for secret scanners;
- `<prefix>` is djangorestframework-api-key's 8 random letters and digits. It is
  stored in clear (unique, indexed), shown in lists, and finds the key's row;
- `<secret>` is 32 random letters and digits from `secrets` (about 190 bits).

Only the SHA-512 hash of the whole key is stored, through the library's hasher.
A fast, unsalted hash is right here: the secret is random and long, so there is
nothing to guess from a dictionary and nothing a salt or a slow hash would
protect. Measured on this machine (2 cores, `timeit`, 200k rounds): hashing a
key costs 1.4 µs and verifying one 2.1 µs, against 260 ms for one PBKDF2
password check. That is the library's default; it is kept, with no keyed hash
of our own (see docs/API_KEYS.md and bench/apikey_verify.py).
"""

import re

from rest_framework_api_key.crypto import KeyGenerator

KEY_MARKER = "agentry_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
# Anything longer is not a key of ours: refused before it is hashed.
MAX_KEY_LENGTH = len(KEY_MARKER) + PREFIX_LENGTH + 1 + SECRET_LENGTH
_KEY_PATTERN = re.compile(
    rf"^{KEY_MARKER}(?P<prefix>[A-Za-z0-9]{{{PREFIX_LENGTH}}})\.[A-Za-z0-9]{{{SECRET_LENGTH}}}$"
)


class AgentryKeyGenerator(KeyGenerator):
    """The library's generator and SHA-512 hasher, with agentry's marker in front of each key."""

    def __init__(self):
        super().__init__(prefix_length=PREFIX_LENGTH, secret_key_length=SECRET_LENGTH)

    def generate(self) -> tuple[str, str, str]:
        """(key, prefix, hashed key); the hash covers the whole key, marker included."""
        prefix = self.get_prefix()
        key = f"{KEY_MARKER}{prefix}.{self.get_secret_key()}"
        return key, prefix, self.hash(key)


def prefix_of(key: str) -> str | None:
    """The stored prefix of a key in agentry's format, or None if it is not one."""
    if len(key) != MAX_KEY_LENGTH:
        return None
    match = _KEY_PATTERN.match(key)
    return match["prefix"] if match else None


def displayed_prefix(prefix: str) -> str:
    """How lists show a key: enough to recognise it, nothing that lets anyone use it."""
    return f"{KEY_MARKER}{prefix}"
