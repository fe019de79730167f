"""Matching names as people type them in topics and forms."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """``Torre A`` → ``torre-a``, ``Prédio São José`` → ``predio-sao-jose``: accents dropped,
    lower case, every run of other characters a single ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
