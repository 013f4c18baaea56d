"""kubecamp-bot's benchmarks: the README's speed and footprint claims, measured on this machine.

Run them all with ``python -m benchmarks`` (or name some: ``python -m benchmarks ingest footprint``).
Each prints its measures as rows of a Markdown table, with the target each is held to; the README's
"Performance" table is that output. They use the emulators in ``tests/`` (Discord, Kubernetes) and
the real Alertmanager, so they need the test extra: ``pip install -e '.[test]'``.
"""
