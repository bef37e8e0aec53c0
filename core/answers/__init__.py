"""Answer extraction and scoring, shared by tasks (scorers), solvers (votes) and distill (filters).

- `extract_answer(text, domain)`: the final answer a completion states (`extract`).
- `exact_match`, `token_f1`, `cover_em`, `normalize_factual`: factual metrics (`factual`).
- `math_equal(pred, gold, timeout_s=5.0)`: math equivalence; never raises, never hangs (`math_equiv`).
- `normalize_answer(answer, domain)`: a key for majority votes (`vote`).
- `paper_grader.paper_extract` / `paper_math_equal`: the reference grader's decisions (`paper_accuracy`); import
  them from their module (they need `word2number`).
"""

from agentdistill.core.answers.extract import extract_answer, last_boxed
from agentdistill.core.answers.factual import cover_em, exact_match, normalize_factual, token_f1
from agentdistill.core.answers.math_equiv import math_equal, strip_math
from agentdistill.core.answers.vote import normalize_answer

__all__ = [
    "extract_answer", "last_boxed", "normalize_answer", "math_equal", "strip_math",
    "normalize_factual", "exact_match", "token_f1", "cover_em",
]
