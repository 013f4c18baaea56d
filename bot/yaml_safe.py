"""YAML's safe subset, parsed by libyaml when PyYAML has it (the wheels and Debian's package do): the same
documents, about ten times faster than the pure-Python parser, which made loading the message catalogue and
the scenarios most of the bot's and every command's start-up."""

from __future__ import annotations

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
