"""The bot's Discord permissions, said in three places, say the same thing.

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

import re
from pathlib import Path

import discord
import pytest
import yaml

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "docs" / "deploy.md"
README = ROOT / "README.md"
CHART_VALUES = ROOT / "helm" / "kubecamp-bot" / "values.yaml"

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
