"""The `ssl` module as the Kubernetes client's REST layer sees it in the tests' processes (the pytest workers and
the `kubecamp` forkserver), except that a context given no CA loads none instead of the system's: every API server
of the tests is the emulator on plain http (or with verification off), so the system's bundle, read and parsed for
each client (about 20 ms of CPU, a few hundred clients in the suite), was never used. A context given a CA is the
real one."""

from __future__ import annotations

import ssl


class SslWithoutSystemCas:
    def __getattr__(self, name: str) -> object:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: str | bytes | None = None,
    ) -> ssl.SSLContext:
        if cafile or capath or cadata or purpose != ssl.Purpose.SERVER_AUTH:
            return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # what create_default_context makes, before the CAs
