"""agentdistill.distill"""
