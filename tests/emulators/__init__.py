"""Test-side Kubernetes: an emulated API server (kmock) and a simulated kind cluster behind it.

See ``kube.KubeCluster`` for the entry point and ``fixtures`` for the pytest plugin.
"""

from .apiserver import KubeEmulator
from .faults import Fault
from .images import Image, ImageRegistry
from .kube import BOT_TOKEN, EmulatorBug, KubeCluster
from .simulator import NodeSpec, Simulator
from .storage import Provisioner

__all__ = [
    "BOT_TOKEN",
    "EmulatorBug",
    "Fault",
    "Image",
    "ImageRegistry",
    "KubeCluster",
    "KubeEmulator",
    "NodeSpec",
    "Provisioner",
    "Simulator",
]
