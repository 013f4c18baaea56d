"""A build's repository held against the layout its seed prescribes: which paths are there, which are missing.

The tree of the default branch's last commit is fetched with dulwich over the git protocol (`git://`) or
smart HTTP (`https://`), shallow (depth 1) and, where the server allows it, without file contents (the
`blob:none` filter, protocol v2): a public repository needs no token. A URL is refused before anything is
sent when its scheme is not allowed (`file://`, `ssh://`, a local path, scp-like `git@host:path`), when it
carries credentials, or when its host resolves to an address that is not public (loopback, private,
link-local): the bot must not become a way into the network it runs in. Which schemes and hosts are
allowed is the caller's `HostPolicy`; the tests serve real repositories on loopback.

dulwich blocks, so the fetch runs in a thread with a deadline that is checked on every read, every socket
has a timeout, and the event loop stops waiting at the time limit whatever the thread does. A fetch stops
early past `max_bytes` (a huge repository, or a server without the filter sending every file) or when the
tree has more than `max_paths` entries. Every failure is a `RepositoryCheckFailed` whose message says which
of these happened; redirects are not followed but named, so a moved repository is submitted by its new URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
import yaml
from dulwich.client import GitClient, HTTPUnauthorized, TCPGitClient, Urllib3HttpGitClient
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.object_store import MemoryObjectStore, ObjectStoreGraphWalker
from dulwich.objects import Commit, ObjectID, Tree
from dulwich.protocol import Protocol
from dulwich.refs import Ref
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import KubecampError
from bot.i18n import Message, render

#: The git protocol's port.
GIT_PORT = 9418
#: File mode of a directory entry in a tree.
_TREE_MODE = 0o040000


@dataclass(frozen=True)
class HostPolicy:
    """Which URLs may be fetched. Production: https and git, public addresses only."""

    schemes: frozenset[str] = frozenset({"https", "git"})
    allow_private: bool = False


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 30.0  # seconds for the whole check
    max_bytes: int = 20 * 1024 * 1024  # everything read from the server: refs and pack
    max_paths: int = 20_000  # entries of the tree, directories included


class RepositoryCheckFailed(KubecampError):
    """The repository could not be checked; `message` says why in the catalogue's words, the text (in
    English) adds the details for the log and the operator."""

    def __init__(self, message: Message, detail: str) -> None:
        super().__init__(f"{render(message, 'en')} ({detail})")
        self.message = message


class RepositoryRefused(RepositoryCheckFailed):
    """The URL is not one the policy lets the bot fetch: nothing was sent."""


# --- the layout ---


class Layout(BaseModel):
    """The paths a build's repository must have, relative to its root: a file (`README.md`), a folder with
    something in it (`docs/screenshots/`), or a glob (`k8s-manifests/workloads/*.yaml`; `**` crosses
    folders). `root`: when the repository has a folder of this name (the seed's project folder, put inside
    a larger repository), the layout starts there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    paths: tuple[str, ...] = Field(min_length=1, max_length=500)

    @field_validator("paths")
    @classmethod
    def _relative(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            parts = PurePosixPath(path).parts
            if not path or path.startswith("/") or ".." in parts or "\\" in path or len(path) > 300:
                raise ValueError(f"{path!r} is not a path inside the repository (relative, with / between folders)")
        if len(set(paths)) < len(paths):
            raise ValueError("a path is listed twice")
        return paths


def load_layout(text: str, *, source: str) -> Layout:
    """A layout from its YAML; ValueError names `source` and what is wrong."""
    try:
        data = yaml.safe_load(text)
        return Layout.model_validate(data)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not YAML: {exc}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ValueError(f"{source}: {field}: {str(error['msg']).removeprefix('Value error, ')}") from None


def _pattern(path: str) -> re.Pattern[str]:
    """A layout path as a regular expression over file paths: `*` and `?` within a name, `**` across
    folders; a folder (trailing `/`) is matched by any file under it."""
    pattern = ""
    for piece in re.split(r"(\*\*/?|\*|\?)", path.rstrip("/")):
        if piece.startswith("**"):
            pattern += "(?:.*/)?" if piece.endswith("/") else ".*"
        elif piece == "*":
            pattern += "[^/]*"
        elif piece == "?":
            pattern += "[^/]"
        else:
            pattern += re.escape(piece)
    return re.compile(pattern + ("/.+" if path.endswith("/") else ""))


@dataclass(frozen=True)
class LayoutReport:
    url: str
    branch: str  # the ref HEAD points at, e.g. refs/heads/main
    commit: str
    base: str  # where the layout starts: "" (the repository's root) or its root folder, with a trailing /
    present: tuple[str, ...]
    missing: tuple[str, ...]
    fetched_bytes: int

    @property
    def complete(self) -> bool:
        return not self.missing

    def summary(self) -> Message:
        return Message(
            "repo.report",
            {"present": len(self.present), "total": len(self.present) + len(self.missing), "commit": self.commit[:12]},
        )


def compare(layout: Layout, files: Sequence[str]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The base the layout starts at, and its paths present and missing among `files` (the repository's
    file paths)."""
    base = ""
    if layout.root is not None:
        roots = sorted(
            {f[: f.index(f"{layout.root}/") + len(layout.root) + 1] for f in files if _under(f, layout.root)},
            key=lambda prefix: (prefix.count("/"), prefix),
        )
        base = roots[0] if roots else ""
    relative = [f[len(base) :] for f in files if f.startswith(base)]
    present: list[str] = []
    missing: list[str] = []
    for path in layout.paths:
        pattern = _pattern(path)
        (present if any(pattern.fullmatch(f) for f in relative) else missing).append(path)
    return base, tuple(present), tuple(missing)


def _under(path: str, folder: str) -> bool:
    return path.startswith(f"{folder}/") or f"/{folder}/" in path


# --- the URL ---


def _split(url: str, policy: HostPolicy) -> SplitResult:
    """The URL, if the policy lets it be fetched at all (its host's addresses are checked apart)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or not parts.scheme or "\\" in url or not url.isprintable():
        raise RepositoryRefused(Message("repo.url_invalid", {"url": url}), f"{url!r} is not a URL")
    if parts.scheme not in policy.schemes:
        allowed = ", ".join(f"{s}://" for s in sorted(policy.schemes))
        raise RepositoryRefused(
            Message("repo.scheme_refused", {"scheme": parts.scheme, "allowed": allowed}),
            f"{url}: scheme {parts.scheme} is not one of {allowed}",
        )
    if not parts.hostname:
        raise RepositoryRefused(Message("repo.url_invalid", {"url": url}), f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise RepositoryRefused(Message("repo.credentials_refused"), f"{parts.hostname}: the URL carries credentials")
    if port == 0:
        raise RepositoryRefused(Message("repo.url_invalid", {"url": url}), f"{url!r}: port 0")
    return parts


def _address(parts: SplitResult, policy: HostPolicy) -> str:
    """The address to connect to: the host's first address, once every address it resolves to is allowed."""
    host = parts.hostname or ""
    port = parts.port or (GIT_PORT if parts.scheme == "git" else 443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RepositoryCheckFailed(Message("repo.unresolvable", {"host": host}), f"{host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not policy.allow_private:
        for address in addresses:
            if not ipaddress.ip_address(address.partition("%")[0]).is_global:
                raise RepositoryRefused(
                    Message("repo.private_address", {"host": host}),
                    f"{host} resolves to {address}, not a public address",
                )
    return addresses[0]


# --- the fetch ---


class _Stop(Exception):
    """Raised from inside dulwich's reads to end a fetch: the deadline passed or the bytes ran out."""

    def __init__(self, failure: RepositoryCheckFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


class _Budget:
    """Every byte read from the server counted against the limits, and the clock against the deadline."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout
        self.read = 0

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def spend(self, count: int) -> None:
        self.read += count
        if time.monotonic() > self.deadline:
            raise _Stop(_timeout(self.limits))
        if self.read > self.limits.max_bytes:
            mib = self.limits.max_bytes / (1024 * 1024)
            raise _Stop(
                RepositoryCheckFailed(
                    Message("repo.too_big", {"mib": f"{mib:g}"}), f"more than {self.limits.max_bytes} bytes; stopped"
                )
            )

    def activity(self, count: int, direction: str) -> None:
        if direction == "read":
            self.spend(count)


def _timeout(limits: FetchLimits) -> RepositoryCheckFailed:
    seconds = f"{limits.timeout:g}"
    return RepositoryCheckFailed(Message("repo.timeout", {"seconds": seconds}), f"no answer within {seconds} s")


class _TimedTCPGitClient(TCPGitClient):
    """dulwich's git:// client, its socket given a timeout: a server that stops answering cannot hold the
    thread past the deadline."""

    def __init__(self, host: str, port: int | None, *, budget: _Budget) -> None:
        super().__init__(host, port, report_activity=budget.activity, quiet=True)
        self._budget = budget

    def _connect(
        self, cmd: bytes, path: str | bytes, protocol_version: int | None = None
    ) -> tuple[Protocol, Callable[[], bool], IO[bytes] | None]:
        # dulwich connects without a timeout; the connection is the socket under the protocol's reader
        # (a socket file). The tests prove it is found: a server that accepts and says nothing.
        proto, can_read, stderr = super()._connect(cmd, path, protocol_version)
        reader = getattr(proto.read, "__self__", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
        if not isinstance(sock, socket.socket):
            proto.close()
            raise RuntimeError("the git:// connection's socket cannot be given a timeout")
        sock.settimeout(self._budget.remaining())
        return proto, can_read, stderr


class _NoRedirects(urllib3.PoolManager):
    """A pool that follows no redirect and remembers the last one and the last status, so that a redirect
    is named (and refused) rather than followed to a host the policy never saw; what it reads is counted."""

    def __init__(self, budget: _Budget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.budget = budget
        self.redirect: str | None = None
        self.status: int | None = None

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:  # type: ignore[override]
        kw["retries"] = urllib3.Retry(total=0, connect=0, read=0, redirect=0, raise_on_redirect=False)
        response = super().urlopen(method, url, redirect=False, **kw)
        self.status = response.status
        read = response.read

        def counted(*args: Any, **kwargs: Any) -> bytes:
            data: bytes = read(*args, **kwargs)
            self.budget.spend(len(data))
            return data

        response.read = counted  # type: ignore[method-assign]  # dulwich reads the refs and the pack with it
        location = response.get_redirect_location()
        if location:
            self.redirect = urljoin(url, location)
        return response


def _client(parts: SplitResult, address: str, budget: _Budget) -> tuple[GitClient, str, _NoRedirects | None]:
    if parts.scheme == "git":
        # Connect to the address that was checked, not to whatever the name resolves to a moment later.
        return _TimedTCPGitClient(address, parts.port, budget=budget), parts.path or "/", None
    pool = _NoRedirects(
        budget,
        timeout=urllib3.Timeout(connect=budget.remaining(), read=budget.remaining()),
        headers={"User-Agent": "kubecamp-bot"},
    )
    base = parts._replace(query="", fragment="").geturl()
    client = Urllib3HttpGitClient(base, pool_manager=pool, report_activity=budget.activity, quiet=True)
    return client, "", pool


def inspect_repository(url: str, layout: Layout, *, policy: HostPolicy, limits: FetchLimits) -> LayoutReport:
    """`check_repository` as it runs in its thread: blocking, and ending by itself at the deadline."""
    budget = _Budget(limits)
    parts = _split(url, policy)
    address = _address(parts, policy)
    client, path, pool = _client(parts, address, budget)
    store = MemoryObjectStore()
    pack, commit_pack, abort_pack = store.add_pack()
    chosen: dict[str, ObjectID] = {}

    def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
        branch, sha = _head(refs)
        chosen[branch] = sha
        return [sha]

    def write(data: bytes) -> int:
        budget.spend(0)  # the deadline, between reads too
        return pack.write(data)

    try:
        result = client.fetch_pack(
            path,
            wants,
            ObjectStoreGraphWalker([], lambda sha: []),
            write,
            depth=1,
            ref_prefix=[b"HEAD", b"refs/heads/"],  # not the tags, nor a forge's thousands of refs/pull/*
            filter_spec=b"blob:none",
        )
        commit_pack()
    except BaseException as exc:
        abort_pack()
        meaning = _failure(exc, url, limits, pool)
        if meaning is exc:  # ours already, or not a failure of the repository's (a bug, an interrupt)
            raise
        raise meaning from exc
    if not chosen:
        raise RepositoryCheckFailed(Message("repo.empty"), f"{url}: no branch to check")
    [(branch, sha)] = chosen.items()
    head = result.symrefs.get(Ref(b"HEAD"))
    files = list(_files(store, sha, limits))
    base, present, missing = compare(layout, files)
    return LayoutReport(
        url=url,
        branch=(head or branch.encode()).decode("utf-8", "replace"),
        commit=sha.decode("ascii"),
        base=base,
        present=present,
        missing=missing,
        fetched_bytes=budget.read,
    )


def _head(refs: Mapping[Ref, ObjectID]) -> tuple[str, ObjectID]:
    """The commit to check: HEAD's, else main's or master's, else the first branch's."""
    for name in (Ref(b"HEAD"), Ref(b"refs/heads/main"), Ref(b"refs/heads/master")):
        if name in refs:
            return name.decode(), refs[name]
    branches = sorted(name for name in refs if name.startswith(b"refs/heads/"))
    if not branches:
        raise RepositoryCheckFailed(Message("repo.empty"), "the repository has no branch")
    return branches[0].decode("utf-8", "replace"), refs[branches[0]]


def _files(store: MemoryObjectStore, sha: ObjectID, limits: FetchLimits) -> Iterator[str]:
    """The paths of the commit's files (its tree's blobs, which the filter left out, by name)."""
    commit = store[sha]
    if not isinstance(commit, Commit):
        raise RepositoryCheckFailed(Message("repo.not_git"), f"{sha!r} is not a commit")
    stack: list[tuple[str, ObjectID]] = [("", commit.tree)]
    seen = 0
    while stack:
        prefix, tree_sha = stack.pop()
        tree = store[tree_sha]
        if not isinstance(tree, Tree):
            raise RepositoryCheckFailed(Message("repo.not_git"), f"{tree_sha!r} is not a tree")
        for entry in tree.iteritems():
            seen += 1
            if seen > limits.max_paths:
                raise RepositoryCheckFailed(
                    Message("repo.too_many_paths", {"max": limits.max_paths}), f"more than {limits.max_paths} paths"
                )
            name = f"{prefix}{entry.path.decode('utf-8', 'replace')}"
            if entry.mode == _TREE_MODE:
                stack.append((f"{name}/", entry.sha))
            elif entry.mode & 0o170000 != 0o160000:  # a submodule is a commit of another repository
                yield name


def _failure(exc: BaseException, url: str, limits: FetchLimits, pool: _NoRedirects | None) -> BaseException:
    """What a failed fetch means for the team, from dulwich's, urllib3's or the socket's error; `exc` itself
    when it is no failure of the repository's."""
    if isinstance(exc, _Stop):
        return exc.failure
    if isinstance(exc, RepositoryCheckFailed | KeyboardInterrupt | SystemExit):
        return exc
    detail = f"{url}: {type(exc).__name__}: {exc}"
    if pool is not None and pool.redirect is not None:
        return RepositoryCheckFailed(Message("repo.redirected", {"location": pool.redirect}), detail)
    if isinstance(exc, HTTPUnauthorized) or (pool is not None and pool.status == 403):
        return RepositoryCheckFailed(Message("repo.auth_required"), detail)
    # git daemon's answers for a path it does not serve, with and without --informative-errors
    if isinstance(exc, NotGitRepository) or re.search(r"no such repository|not exported", str(exc)):
        return RepositoryCheckFailed(Message("repo.not_found"), detail)
    causes = list(_causes(exc))
    # Before the timeouts: urllib3's NewConnectionError (a refused connection) is a ConnectTimeoutError too.
    if any(isinstance(c, ConnectionError | urllib3.exceptions.NewConnectionError) for c in causes):
        return RepositoryCheckFailed(Message("repo.unreachable"), detail)
    if any(isinstance(c, TimeoutError | urllib3.exceptions.TimeoutError) for c in causes):
        return _timeout(limits)
    if isinstance(exc, OSError):  # no route to the host, the network down
        return RepositoryCheckFailed(Message("repo.unreachable"), detail)
    if pool is not None and pool.status is not None and pool.status != 200:
        return RepositoryCheckFailed(Message("repo.http_status", {"status": pool.status}), detail)
    if isinstance(exc, GitProtocolError | ValueError | AssertionError | KeyError | IndexError):
        return RepositoryCheckFailed(Message("repo.not_git"), detail)
    return exc


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError carries the error as its reason
        if isinstance(reason, BaseException):
            yield reason
        current = current.__cause__ or current.__context__


async def check_repository(url: str, layout: Layout, *, policy: HostPolicy, limits: FetchLimits) -> LayoutReport:
    """Fetch `url`'s tree and hold it against `layout`, within `limits.timeout` seconds.
    Raises RepositoryCheckFailed with a message that says why it could not."""
    try:
        # The thread stops itself at the deadline; the loop waits a little longer for its own answer.
        fetch = asyncio.to_thread(inspect_repository, url, layout, policy=policy, limits=limits)
        return await asyncio.wait_for(fetch, limits.timeout + 1)
    except TimeoutError:
        raise _timeout(limits) from None
