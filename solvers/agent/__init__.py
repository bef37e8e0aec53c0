"""CodeAct agent: prompts, parsing of Thought/Code turns, the step loop, and action choosers (greedy, SAG).

Solvers `agent`, `agent_sag`, `agent_ftp` live in `agentdistill.solvers.agent.solvers` (registered through
`agentdistill.registry`).
"""
