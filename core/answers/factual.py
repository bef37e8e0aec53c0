"""Factual answer metrics (SQuAD-style normalisation): exact match, token F1, cover exact match."""

from __future__ import annotations

import re
import string
from collections import Counter


_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_factual(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", str(text).lower().translate(_PUNCTUATION)).split())


def _golds(gold: str | list[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else [str(g) for g in gold]


def exact_match(pred: str | None, gold: str | list[str]) -> float:
    if pred is None:
        return 0.0
    p = normalize_factual(pred)
    return float(any(p == normalize_factual(g) for g in _golds(gold)))


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_factual(pred), normalize_factual(gold)
    # yes/no/noanswer golds only match exactly (as in HotpotQA's official evaluation)
    if p in ("yes", "no", "noanswer") or g in ("yes", "no", "noanswer"):
        return float(p == g)
    pt, gt = p.split(), g.split()
    common = Counter(pt) & Counter(gt)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pt), same / len(gt)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str | None, gold: str | list[str]) -> float:
    if pred is None:
        return 0.0
    return max(_f1(pred, g) for g in _golds(gold))


def cover_em(pred: str | None, gold: str | list[str]) -> float:
    """1 when a normalised gold appears as a whole-token span in the normalised prediction."""
    if pred is None:
        return 0.0
    p = f" {normalize_factual(pred)} "
    return float(any(normalize_factual(g) and f" {normalize_factual(g)} " in p for g in _golds(gold)))
