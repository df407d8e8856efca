"""Experiments (Qt-free): sweep specs, graph comparison, Optuna studies, trial records.

A study is a folder plus an Optuna storage (SQLite in the folder by default, a journal
file, or any RDB URL); a trial is an ordinary run folder with ``trial.json`` beside its
metrics. Views read those records; workers can die and rejoin, the storage is the truth.
"""
