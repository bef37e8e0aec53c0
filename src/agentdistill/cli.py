"""`agentdistill <command>`: the jobs that are not `inspect eval` itself.

Each command lives in its room; this file only dispatches, importing lazily so that
`agentdistill --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
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


USAGE_TAIL = """
options (any command):
  --traceback, --debug  show the Python traceback of an error (also: AGENTDISTILL_TRACEBACK=1)

exit codes: 0 ok; 1 a check failed (regression drift, an incomplete grid or teacher run);
            2 usage or input error (nothing was run)"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = [a for a in argv if a in ("--traceback", "--debug")]
    argv = [a for a in argv if a not in debug]
    if debug:
        os.environ["AGENTDISTILL_TRACEBACK"] = "1"  # core.errors.TRACEBACK_ENV (imported below: --help stays fast)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: agentdistill <command> [args]\n\ncommands:")
        for name, (_, _, text) in sorted(COMMANDS.items()):
            print(f"  {name:<18} {text}")
        print(USAGE_TAIL)
        return 0
    from agentdistill.core.errors import EXIT_INPUT, InputError, report, valid_names

    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"agentdistill: error: unknown command {name!r}; {valid_names(name, COMMANDS)}", file=sys.stderr)
        return EXIT_INPUT
    module, func, _ = COMMANDS[name]
    try:
        result = getattr(importlib.import_module(module), func)(rest)
    except InputError as error:  # refused before any work: one line, exit 2
        return report(f"agentdistill {name}", error)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
