"""`agentdistill <command>`: the jobs that are not `inspect eval` itself.

Each command lives in its room; this file only dispatches, importing lazily so that
`agentdistill --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module, function taking argv, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "prepare-wiki18": ("agentdistill.solvers.retrieval.wiki18", "main", "download + prepare Wikipedia-2018 and its e5 faiss index (retriever wiki18:<dir>)"),
    "retrieval-server": ("agentdistill.solvers.retrieval.server", "main", "serve a retriever on 127.0.0.1 for many eval workers (retriever http://127.0.0.1:PORT)"),
    "coverage": ("agentdistill.solvers.retrieval.coverage", "main", "per factual task: recall@k of gold answers in retrieved passages, and in the corpus at all"),
    "trajectories": ("agentdistill.distill.trajectories", "main", "run a teacher over the training tasks and write filtered chat trajectories (JSONL)"),
    "train": ("agentdistill.distill.train", "main", "LoRA fine-tune a student on trajectories (TRL SFT, assistant turns only)"),
    "reproduce": ("agentdistill.distill.reproduce", "main", "one resumable experiment: `reproduce micro` = agent vs CoT distillation on bignum, ~1 h on 2 CPU cores"),
    "prepare-model": ("agentdistill.models.embedded", "main", "convert the embedded SmolLM2 GGUF into a cached transformers folder"),
    "grid": ("agentdistill.leaderboard.grid", "main", "run a model x method x task grid resumably (inspect eval-set)"),
    "leaderboard": ("agentdistill.leaderboard.build", "main", "Table 2 (Markdown/CSV/HTML) and Figure 1 (PNG) from a log directory"),
    "regress": ("agentdistill.leaderboard.regress", "main", "CI regression on fixed seeded subsets against leaderboard/baseline"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: agentdistill <command> [args]\n\ncommands:")
        for name, (_, _, text) in sorted(COMMANDS.items()):
            print(f"  {name:<18} {text}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"agentdistill: unknown command {name!r}; run `agentdistill --help`", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    result = getattr(importlib.import_module(module), func)(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
