"""The wheel's seed crosses Redis sealed (AES-GCM under a key derived from the cluster's
shared ``VETRINA_SECRET``): the nodes can read it, someone who only reads Redis cannot learn
the draw before the seed is revealed to clients."""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SeedSeal:
    """Seals the wheel's seed in ``stage`` items with AES-GCM under a key derived from the
    cluster's shared secret: the nodes can read it, someone who only reads Redis cannot."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"vetrina cluster: wheel seeds").derive(secret.encode())
        self._aead = AESGCM(key)

    @staticmethod
    def _aad(payload: dict[str, Any]) -> bytes:
        return f"vetrina seed {payload.get('round')}".encode()  # a sealed seed fits its round only

    def seal(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        params = payload.get("params")
        if kind != "stage" or not isinstance(params, dict) or "seed" not in params:
            return payload
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, bytes(params["seed"]), self._aad(payload))
        rest = {k: v for k, v in params.items() if k != "seed"}
        return {**payload, "params": {**rest, "sealed": sealed}}

    def unseal(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload with its seed back; None when the seal does not open (another secret)."""
        params = payload.get("params")
        if kind != "stage" or not isinstance(params, dict) or "sealed" not in params:
            return payload
        try:
            box = bytes(params["sealed"])
            seed = self._aead.decrypt(box[:12], box[12:], self._aad(payload))
        except (InvalidTag, TypeError, ValueError):
            return None
        rest = {k: v for k, v in params.items() if k != "sealed"}
        return {**payload, "params": {**rest, "seed": seed}}
