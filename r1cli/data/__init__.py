"""Datasets: loading (hub, local files, built-in synthetic tasks, mixtures), columns and prompts.

Heavy imports (``datasets``) happen inside the functions that need them.
"""
