"""agentdistill.solvers"""
