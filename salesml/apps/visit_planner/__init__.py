"""The visit planner app: next week's visits per rep, and what changing capacity captures."""
