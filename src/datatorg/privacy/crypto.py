"""The privacy domain's keys, all derived from the platform secret (``DATATORG_SECRET_KEY``).

HKDF-SHA256 derives one key per use from the secret, so no key is stored anywhere:

* ``seal`` / ``unseal`` — identities at rest: AES-256-GCM with a random 96-bit nonce; the
  associated data binds a ciphertext to its subject and identity kind (a ciphertext copied
  to another row does not open).
* ``lookup_hash`` — HMAC-SHA256 of the normalised identity, to find a subject by identity
  without decrypting anything (``privacy_identities.lookup``, unique).
* ``subject_key`` — the pseudonymous key the lake holds instead of the identity:
  ``sk-`` + 26 base32 characters of HMAC-SHA256 over the subject's internal id.
* ``tombstone`` — HMAC-SHA256 (another key) over an erased subject's lookup hashes and key:
  what is left after an erasure, enough to recognise the same identity again, nothing more.
* ``sign`` / ``verify`` — Ed25519 signatures of consent receipts; the public key is served at
  ``/api/v1/privacy/receipt-key`` (JWK) so anyone can verify a receipt offline.

Changing the secret makes every sealed identity unreadable and every key different: rotate
it only together with a re-keying of the registry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SUBJECT_KEY_PREFIX = "sk-"
SUBJECT_KEY_LENGTH = len(SUBJECT_KEY_PREFIX) + 26


class Keys:
    """The derived keys of one platform secret."""

    def __init__(self, secret: str) -> None:
        def derive(label: str) -> bytes:
            return HKDF(
                algorithm=hashes.SHA256(), length=32, salt=b"datatorg-privacy", info=label.encode()
            ).derive(secret.encode())

        self._aead = AESGCM(derive("identity-aes-gcm"))
        self._lookup = derive("identity-lookup-hmac")
        self._subject = derive("subject-key-hmac")
        self._tomb = derive("erasure-tombstone-hmac")
        self._signing = Ed25519PrivateKey.from_private_bytes(derive("receipt-ed25519"))
        self.public_key: Ed25519PublicKey = self._signing.public_key()

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, token: str, *, context: str) -> str:
        raw = base64.b64decode(token)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise ValueError("identity does not open with this key and context") from None

    def lookup_hash(self, kind: str, normalised: str) -> str:
        return hmac.new(self._lookup, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()

    def subject_key(self, subject_id: str) -> str:
        digest = hmac.new(self._subject, subject_id.encode(), hashlib.sha256).digest()
        return SUBJECT_KEY_PREFIX + base64.b32encode(digest).decode().lower()[:26]

    def tombstone(self, value: str) -> str:
        return hmac.new(self._tomb, value.encode(), hashlib.sha256).hexdigest()

    def sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(self._signing.sign(payload)).decode().rstrip("=")

    def public_jwk(self) -> dict[str, str]:
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "use": "sig", "kid": key_id(x)}


def key_id(x: str) -> str:
    return hashlib.sha256(x.encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def keys(secret: str) -> Keys:
    """The derived keys of ``secret`` (cached: derivation costs a few HKDF runs)."""
    return Keys(secret)


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a receipt's signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify(document: dict[str, Any], signature: str, jwk: dict[str, str]) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``document`` under ``jwk``."""
    try:
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, canonical(document))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True
