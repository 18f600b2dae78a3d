"""Token signing keys (RS256). Production reads ``PORTAL_JWT_PRIVATE_KEY`` (PEM); development
generates a key on first run and keeps it in ``PORTAL_DEV_KEY_FILE`` so tokens survive a
restart. The public half is published at ``/.well-known/jwks.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from api.settings import Settings

ALGORITHM = "RS256"


@dataclass(frozen=True)
class SigningKeys:
    private: RSAKey

    @property
    def kid(self) -> str:
        return str(self.private.kid)

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set clients and resource servers verify tokens with (RFC 7517)."""
        public = self.private.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": ALGORITHM}]}

    def verification_keys(self) -> KeySet:
        return KeySet([self.private])


def load_signing_keys(settings: Settings) -> SigningKeys:
    if settings.jwt_private_key is not None:
        key = RSAKey.import_key(settings.jwt_private_key.get_secret_value())
    else:
        key = _development_key(Path(settings.dev_key_file))
    key.ensure_kid()
    return SigningKeys(private=key)


def _development_key(path: Path) -> RSAKey:
    """The development key, created on first use; the file is readable by its owner only."""
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text()))
    key = RSAKey.generate_key(2048, private=True, auto_kid=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(key.as_dict(private=True), file)
    return key
