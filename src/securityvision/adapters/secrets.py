"""Secrets at rest (camera passwords), encrypted with DEVICE_SECRETS_KEY.

Fernet (AES-128-CBC with an HMAC-SHA256 tag, from the ``cryptography`` package): authenticated,
so a value altered in the database or encrypted under another key is refused, never decrypted
into garbage. The Fernet key is derived from DEVICE_SECRETS_KEY with HKDF-SHA256, so any long
random string works as the variable's value.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from securityvision.domain.errors import StorageError

MIN_KEY_LENGTH = 32
_CONTEXT = b"securityvision device secrets v1"


class FernetSecretCipher:
    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"the key must have at least {MIN_KEY_LENGTH} characters")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(
            key.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise StorageError(
                "a stored secret cannot be decrypted with DEVICE_SECRETS_KEY (altered, or"
                " encrypted under another key)"
            ) from exc

    def __repr__(self) -> str:
        return "FernetSecretCipher(<key hidden>)"
