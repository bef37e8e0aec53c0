"""agentdistill.tasks"""
