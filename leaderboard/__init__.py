"""agentdistill.leaderboard"""
