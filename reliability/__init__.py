"""The fault suite: several Dagger workers on a real broker, killed, added, removed and restarted mid-run.

``python -m reliability --help`` lists the scenarios; ``docs/reliability.md`` explains them.
"""
