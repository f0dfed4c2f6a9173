"""Recipients' ID numbers at rest: encrypted, found by a keyed hash, shown masked.

The ``DATA_KEY`` setting (generated into ``instance/data_key`` on first run) derives two
keys: one encrypts the number (Fernet: AES with an HMAC), the other makes the keyed
look-up hash, so that the same person is found and never registered twice without the
number being readable from the database. Losing the key loses the numbers: back it up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet
from flask import current_app

from procurement.core.identifiers import mask_id_number, parse_id_number


@cache
def _keys(data_key: str) -> tuple[Fernet, bytes]:
    root = data_key.encode()
    encryption = hmac.new(root, b"recipient-id-encryption", hashlib.sha256).digest()
    lookup = hmac.new(root, b"recipient-id-lookup", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(encryption)), lookup


def _current_keys() -> tuple[Fernet, bytes]:
    return _keys(current_app.config["DATA_KEY"])


def lookup_hasher():
    """A function number -> keyed hash, for hashing many numbers in a loop."""
    keyed = hmac.new(_current_keys()[1], digestmod=hashlib.sha256)

    def digest(number: str) -> str:
        mac = keyed.copy()  # the key is prepared once, not for every number
        mac.update(number.encode())
        return mac.hexdigest()

    return digest


def id_hash(number: str) -> str:
    return lookup_hasher()(parse_id_number(number).number)


def encrypt(number: str) -> str:
    return _current_keys()[0].encrypt(number.encode()).decode()


def decrypt(cipher: str) -> str:
    return _current_keys()[0].decrypt(cipher.encode()).decode()


def sealed(number: str) -> dict[str, str]:
    """The three stored forms of a valid number: cipher, hash and masked text."""
    number = parse_id_number(number).number
    return {
        "id_cipher": encrypt(number),
        "id_hash": lookup_hasher()(number),
        "id_masked": mask_id_number(number),
    }


def seal_file(data: bytes) -> bytes:
    """Encrypt a whole file that holds ID numbers (a staged roster import) while it waits."""
    return _current_keys()[0].encrypt(data)


def open_file(token: bytes) -> bytes:
    return _current_keys()[0].decrypt(token)
