"""Real peers for tests: Debian's Prometheus and Alertmanager binaries, run as child processes on 127.0.0.1, a
kube-state-metrics stand-in for them to scrape and a webhook receiver for Alertmanager to post to.

``processes`` holds the classes, ``fixtures`` the pytest fixtures (a plugin listed in ``tests/conftest.py``),
``capture`` the script that records Alertmanager's webhook bodies into ``tests/incidents/payloads/``.
"""
