"""agentdistill: benchmark harness and distillation toolkit for small tool-using language agents (Kang et al., 2025).

The rooms live at the top of the repository and are linked into this package (`agentdistill.core` -> `core/`, ...),
so a plain checkout plus an editable install is one ordinary package that type checkers and IDEs can follow. Layers,
imported one way only (CONTRIBUTING.md): core <- models <- tasks <- solvers <- distill | leaderboard <- this package's
`cli` and `registry` (the inspect entry point).
"""
