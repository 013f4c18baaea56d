"""The deploy guide says what the code and the chart do: the bot's Discord permissions, said in three places,
say the same thing; every `kubecamp` command line in the guide parses with the CLI's own parser; every `--set`
is a key of the chart's schema, and the walkthrough's install renders; the images the scenarios run are the ones
the guide tells to pre-pull.

What the bot does in Discord decides the permissions (docs/deploy.md, "Permissions", says why each):

* posts messages with embeds in team channels and the alerts channel (the durable outbox):
  view_channel, send_messages, embed_links; attachments: attach_files;
* starts a public thread from its own message, one per run and per incident: create_public_threads;
* posts in those threads: send_messages_in_threads (threads do not inherit send_messages);
* reads back its own message to find the thread it started when a restart interrupted that (Discord's Get
  Channel Message needs read_message_history);
* renames and archives only threads it started: the creator needs no manage_threads.

The checks: docs/deploy.md's permission table lists exactly `REQUIRED`, and every permissions integer in it
is `discord.Permissions(**REQUIRED).value`; README's invite instructions name the same permissions and no
other; the chart's `discord.invitePermissions` default is that integer. Editing one place and not the others
fails here.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shlex
from pathlib import Path

import discord
import helm_python
import pytest
import yaml

from bot.cli_parser import parser as cli_parser
from tests.helm.test_chart import ALL_ON, merged, notes, one, render
from tests.helm.test_chart import _chart as chart

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "docs" / "deploy.md"
README = ROOT / "README.md"
CHART_VALUES = ROOT / "helm" / "kubecamp-bot" / "values.yaml"
CHART_SCHEMA = ROOT / "helm" / "kubecamp-bot" / "values.schema.json"

REQUIRED = frozenset(
    {
        "view_channel",
        "send_messages",
        "send_messages_in_threads",
        "create_public_threads",
        "embed_links",
        "attach_files",
        "read_message_history",
    }
)
VALUE = discord.Permissions(**dict.fromkeys(REQUIRED, True)).value


def _phrase(flag: str) -> str:
    return flag.replace("_", " ")


def _permission_table(text: str) -> set[str]:
    match = re.search(r"<!-- permissions:start -->(.*?)<!-- permissions:end -->", text, re.DOTALL)
    assert match, "docs/deploy.md: the permission table between <!-- permissions:start/end --> is gone"
    flags = set()
    for row in match.group(1).splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and (flag := re.fullmatch(r"`(\w+)`", cells[1])):
            assert flag.group(1) in discord.Permissions.VALID_FLAGS, f"not a discord.py flag: {cells[1]}"
            assert cells[2], f"docs/deploy.md: say why the bot needs {cells[1]}"
            flags.add(flag.group(1))
    return flags


def _readme_invite_item() -> str:
    """The item of README's "Discord" list that tells how to invite the bot."""
    section = README.read_text().split("\n## Discord", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"(?m)^\d+\.\s", section)
    invite = [item for item in items if "applications.commands" in item]
    assert len(invite) == 1, "README.md, Discord: expected one list item with the invite's scopes"
    return " ".join(invite[0].split()).lower()


def test_required_is_what_the_integer_means() -> None:
    assert VALUE == 309237763072
    assert bin(VALUE).count("1") == len(REQUIRED), "one bit per permission: no flag in REQUIRED is an alias"
    assert all(getattr(discord.Permissions(VALUE), flag) for flag in REQUIRED)


def test_deploy_guide_lists_exactly_the_required_permissions() -> None:
    assert _permission_table(DEPLOY.read_text()) == REQUIRED


def test_every_permissions_integer_in_the_deploy_guide_is_the_required_one() -> None:
    text = DEPLOY.read_text()
    found = [int(n) for n in re.findall(r"permissions=(\d+)", text)]
    found += [int(n) for n in re.findall(r"[Pp]ermissions integer[^0-9`]*`(\d+)`", text)]
    assert found, "docs/deploy.md gives no invite URL with a permissions integer"
    assert set(found) == {VALUE}, f"docs/deploy.md: {sorted(set(found))}, expected {VALUE}"
    table = _permission_table(text)
    assert discord.Permissions(**dict.fromkeys(table, True)).value == VALUE


def test_deploy_guide_invites_with_both_scopes_and_no_privileged_intent() -> None:
    text = DEPLOY.read_text()
    assert "scope=bot+applications.commands" in text
    assert re.search(r"Privileged Gateway Intents\*\*: leave all three off", text)


def test_readme_invite_names_the_same_permissions() -> None:
    item = _readme_invite_item()
    missing = []
    for flag in sorted(REQUIRED):
        # "send messages" must not be found only inside "send messages in threads".
        longer = [_phrase(f)[len(_phrase(flag)) :] for f in REQUIRED if f != flag and f.startswith(flag + "_")]
        lookahead = "".join(f"(?!{re.escape(rest)})" for rest in longer)
        if not re.search(re.escape(_phrase(flag)) + lookahead, item):
            missing.append(_phrase(flag))
    assert not missing, f"README.md's invite instructions do not name: {missing}"


def test_readme_invite_names_no_other_permission() -> None:
    item = _readme_invite_item()
    extra = []
    for flag in sorted(set(discord.Permissions.VALID_FLAGS) - REQUIRED):
        if discord.Permissions(**{flag: True}).value & ~VALUE == 0:
            continue  # an alias of a required one (read_messages is view_channel)
        phrase = _phrase(flag)
        if " " not in phrase and phrase != "administrator":
            continue  # one-word flags ("connect", "speak", "stream") are ordinary words
        if phrase in item:
            extra.append(phrase)
    assert not extra, f"README.md's invite instructions name permissions the bot does not need: {extra}"
    for number in re.findall(r"\b\d{9,}\b", item):
        assert int(number) == VALUE, f"README.md gives the permissions integer {number}, expected {VALUE}"


def test_chart_invite_permissions_default() -> None:
    if not CHART_VALUES.exists():
        pytest.skip("no Helm chart yet")
    values = yaml.safe_load(CHART_VALUES.read_text())
    assert int(values["discord"]["invitePermissions"]) == VALUE, (
        f"helm/kubecamp-bot/values.yaml discord.invitePermissions is {values['discord']['invitePermissions']}, "
        f"expected {VALUE} (docs/deploy.md, Permissions)"
    )


# --- the commands and values the guide gives -----------------------------------------------------------------

WALKTHROUGH = "\n## Monday on kind, end to end\n"

#: What ends a command's arguments on its line.
_COMMAND_END = frozenset({">", ">>", "|", "&&", ";", "2>"})


def _shell_lines(text: str) -> list[str]:
    """The command lines of the guide's ```bash blocks (with continuations joined) and of its inline code."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines()
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    lines += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    return lines


def kubecamp_commands(text: str) -> list[list[str]]:
    """The arguments of every `kubecamp …` command line of the Markdown `text`."""
    return commands_in(_shell_lines(text))


def commands_in(lines: list[str]) -> list[list[str]]:
    """The arguments of every `kubecamp …` command in `lines`: `kubecamp` first on its line, after `--`
    (kubectl exec), `&&` or `;`, or after VAR=value settings; never in `-n kubecamp` or `--name kubecamp`, where
    it is the namespace's or the cluster's name."""
    commands = []
    for line in lines:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # an inline span holding half of a quoted string
            words = line.split()
        for at, word in enumerate(words):
            before = words[:at]
            command = not before or before[-1] in {"--", "&&", ";"}
            if word != "kubecamp" or not (command or all(re.fullmatch(r"[A-Z_]+=\S*", w) for w in before)):
                continue
            args = words[at + 1 :]
            ends = [i for i, w in enumerate(args) if w in _COMMAND_END]
            if args := args[: ends[0]] if ends else args:  # a bare `kubecamp` names the command, runs nothing
                commands.append(args)
    return commands


def _parses(args: list[str]) -> str | None:
    """None when `kubecamp args` parses, else argparse's complaint."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            cli_parser().parse_args(args)
    except SystemExit:
        return errors.getvalue().strip().splitlines()[-1]
    return None


def test_the_command_lines_are_found() -> None:
    found = kubecamp_commands(
        "```bash\nkind create cluster --name kubecamp\nkubectl -n kubecamp exec deploy/kubecamp-bot -- kubecamp team"
        " add blue > out  # a comment\nKUBECAMP_KUBE_NAMESPACE_PREFIX=kubecamp- kubecamp \\\n  preflight\n```\n"
        "Inline, `kubecamp --json challenge status --team blue`, but not `kubecamp-bot` nor the `kubecamp` command."
    )
    assert found == [["team", "add", "blue"], ["preflight"], ["--json", "challenge", "status", "--team", "blue"]]


def test_every_kubecamp_command_in_the_deploy_guide_parses() -> None:
    commands = kubecamp_commands(DEPLOY.read_text())
    assert len(commands) >= 10, commands
    wrong = {" ".join(args): problem for args in commands if (problem := _parses(args))}
    assert not wrong, f"docs/deploy.md gives `kubecamp` command lines the CLI refuses: {wrong}"


def test_every_kubecamp_command_in_the_install_notes_parses() -> None:
    commands = commands_in(notes(ALL_ON).splitlines())
    assert ["team", "add", "blue"] in commands and ["preflight"] in commands
    wrong = {" ".join(args): problem for args in commands if (problem := _parses(args))}
    assert not wrong, f"NOTES.txt gives `kubecamp` command lines the CLI refuses: {wrong}"


def _set_values(text: str) -> list[dict[str, object]]:
    """What each `--set`/`--set-string` of the guide's helm commands sets, parsed as Helm parses it."""
    values = []
    for line in _shell_lines(text):
        if not re.match(r"helm (install|upgrade)\b", line.strip()):
            continue
        words = shlex.split(line, comments=True)
        for flag, expression in itertools.pairwise(words):
            if flag == "--set":
                values.append(helm_python.parse_set_string(expression))
            elif flag == "--set-string":
                values.append(helm_python.parse_set_string_values(expression))
    return values


def _keys(values: object, schema: dict[str, object], path: str = "") -> list[str]:
    """The dotted keys of `values` that `schema` does not have."""
    if not isinstance(values, dict):
        return []
    unknown = []
    properties = schema.get("properties", {})
    assert isinstance(properties, dict)
    for key, value in values.items():
        if key not in properties:
            unknown.append(f"{path}{key}")
        else:
            unknown += _keys(value, properties[key], f"{path}{key}.")
    return unknown


def test_every_set_in_the_deploy_guide_is_a_key_of_the_charts_schema() -> None:
    schema = json.loads(CHART_SCHEMA.read_text())
    sets = _set_values(DEPLOY.read_text())
    assert len(sets) >= 6, sets
    unknown = [key for values in sets for key in _keys(values, schema)]
    assert not unknown, f"docs/deploy.md sets what helm/kubecamp-bot/values.schema.json does not know: {unknown}"
    assert _keys({"image": {"tag": "1", "tga": "1"}}, schema) == ["image.tga"]


def test_the_walkthroughs_install_renders() -> None:
    """The walkthrough's values file and its `helm install` line, together, as Helm would take them."""
    walkthrough = DEPLOY.read_text().split(WALKTHROUGH, 1)[1].split("\n## ", 1)[0]
    values_file = re.search(r"```yaml\n(# kubecamp-values\.yaml\n.*?)```", walkthrough, re.DOTALL)
    assert values_file, "the walkthrough gives no kubecamp-values.yaml"
    values = merged(yaml.safe_load(values_file.group(1)), *_set_values(walkthrough))
    chart().validate_schema(values)
    deployment = one(render(values), "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "kubecamp-bot:0.1.0"
    loaded = re.search(r"kind load docker-image (\S+) --name kubecamp", walkthrough)
    assert loaded and loaded.group(1) == "kubecamp-bot:0.1.0", "the chart runs the image the walkthrough loads"


def _container_images(node: object) -> set[str]:
    if isinstance(node, list):
        return {image for item in node for image in _container_images(item)}
    if not isinstance(node, dict):
        return set()
    images = {c["image"] for key in ("containers", "initContainers") for c in node.get(key) or [] if "image" in c}
    return images | {image for value in node.values() for image in _container_images(value)}


def test_the_deploy_guide_lists_every_image_the_scenarios_run() -> None:
    images: set[str] = set()
    for path in (ROOT / "scenarios").glob("*/*/*/*.yaml"):
        if "reference" in path.parts:  # a build's reference is never applied by the bot or the preflight
            continue
        images |= {image for doc in yaml.safe_load_all(path.read_text()) for image in _container_images(doc)}
    section = re.search(
        r"<!-- scenario-images:start -->(.*?)<!-- scenario-images:end -->", DEPLOY.read_text(), re.DOTALL
    )
    assert section, "docs/deploy.md: the image table between <!-- scenario-images:start/end --> is gone"
    table, _, not_pulled = section.group(1).partition("Not to be pulled")
    listed = set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))
    named_apart = set(re.findall(r"`([^`]+:[^`]+)`", not_pulled))
    assert listed | named_apart == images, (
        f"in the guide, not the scenarios: {(listed | named_apart) - images}; "
        f"in the scenarios, not the guide: {images - listed - named_apart}"
    )
    assert not listed & named_apart
    loop = re.search(r"for image in (.*?); do", DEPLOY.read_text().replace("\\\n", " "), re.DOTALL)
    assert loop and set(loop.group(1).split()) == listed, "the pre-pull loop pulls what the table lists"
