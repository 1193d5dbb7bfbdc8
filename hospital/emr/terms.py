"""Normalising free-text vocabulary terms into the consortium's snake_case form."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_term(raw: str) -> str:
    """Lower-case, turn every run of non-alphanumerics into one '_', strip the ends.

    ``" dischromic _patches"`` → ``"dischromic_patches"``, ``"toxic_look_(typhos)"`` →
    ``"toxic_look_typhos"``, ``"Chest pain"`` → ``"chest_pain"``.
    """
    return _NON_WORD.sub("_", raw.strip().lower()).strip("_")
