"""Readers of the ops kit in deploy/: the `modelward …` command lines each file runs, the
metric names a PromQL expression reads, and the series a server's /metrics exports."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from conftest import ROOT

DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
KUBERNETES = DEPLOY / "kubernetes"
PROMETHEUS = DEPLOY / "prometheus"
NGINX_CONF = DEPLOY / "nginx" / "modelward.conf"
DASHBOARD = DEPLOY / "grafana" / "modelward-dashboard.json"
DOCKERFILE = DEPLOY / "Dockerfile"
README = DEPLOY / "README.md"


def tool(name: str, *places: str) -> str | None:
    """The path of a Debian tool (on PATH, or where Debian puts it for root only)."""
    found = shutil.which(name)
    if found:
        return found
    return next((place for place in places if Path(place).is_file()), None)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a program that takes no port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- command lines ----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One `modelward …` command line found in deploy/: its arguments after `modelward`."""

    where: str  # file:line, or file:object
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: modelward {shlex.join(self.args)}"


def _after_modelward(words: list[str]) -> tuple[str, ...] | None:
    """The words after the first one naming the modelward program, or None."""
    for i, word in enumerate(words):
        if Path(word).name == "modelward":
            return tuple(words[i + 1 :])
    return None


def systemd_commands(path: Path) -> list[Command]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        key, _, value = line.partition("=")
        if key.strip().startswith("Exec") and value:
            args = _after_modelward(shlex.split(value.lstrip("-@:+!")))
            if args is not None:
                found.append(Command(f"{path.relative_to(ROOT)}:{number}", args))
    return found


def kubernetes_commands(path: Path) -> list[Command]:
    found = []
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        for container in _containers(doc):
            words = [*container.get("command", []), *container.get("args", [])]
            args = _after_modelward([str(word) for word in words])
            if args is not None:
                where = f"{path.relative_to(ROOT)}:{doc['kind']}/{container['name']}"
                found.append(Command(where, args))
    return found


def _containers(doc: dict) -> list[dict]:
    """Every container of a Deployment's or a CronJob's pod template."""
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def dockerfile_instructions(path: Path = DOCKERFILE) -> dict[str, list[str]]:
    """Each instruction's arguments (continuation lines joined), in order, by keyword."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word.isupper() and rest.strip():
            found.setdefault(word, []).append(rest.strip())
    return found


def dockerfile_commands(path: Path) -> list[Command]:
    """ENTRYPOINT and CMD (exec form) joined, as the image runs them."""
    found = dockerfile_instructions(path)
    words = [json.loads(found[word][-1]) for word in ("ENTRYPOINT", "CMD") if word in found]
    args = _after_modelward([w for part in words for w in part])
    return [] if args is None else [Command(f"{path.relative_to(ROOT)}:ENTRYPOINT+CMD", args)]


_QUOTED = re.compile(r"`([^`]*\bmodelward [^`]+)`")
_SEPARATORS = {";", "&&", "||", "|", "&"}


def shell_commands(text: str) -> list[tuple[str, ...]]:
    """The arguments of each modelward run in a shell line: every simple command (split at
    ; && || |) whose program is modelward, also inside ``sh -c '…'`` scripts."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    found: list[tuple[str, ...]] = []
    segment: list[str] = []
    for word in [*lexer, ";"]:
        if word not in _SEPARATORS:
            segment.append(word)
            continue
        while segment and segment[0] in ("exec", "time", "nohup"):
            segment = segment[1:]
        if segment and Path(segment[0]).name == "modelward":
            found.append(tuple(segment[1:]))
        for nested in segment:
            if " " in nested:  # a script: sh -c '…'
                found += shell_commands(nested)
        segment = []
    return found


def prose_commands(path: Path) -> list[Command]:
    """Commands in backticks, and in the lines of code blocks, that run modelward."""
    found = []
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.relative_to(ROOT)}:{number}"
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        texts = [m.group(1) for m in _QUOTED.finditer(line)]
        if in_code:
            texts.append(line.strip().removeprefix("$ "))
        for text in texts:
            if "…" in text:  # a family named in prose, not a command line
                continue
            text = re.sub(r"\{\{.*?\}\}", "NAME", text)  # an alert's template
            found += [Command(where, args) for args in shell_commands(text) if args]
    return found


def all_commands() -> list[Command]:
    """Every `modelward …` command line the kit runs or tells a reader to run."""
    found: list[Command] = []
    for path in sorted(SYSTEMD.glob("*")):
        found += systemd_commands(path)
        if path.suffix in (".service", ".timer", ".env"):
            found += prose_commands(path)
    for path in sorted(KUBERNETES.glob("*.yaml")):
        found += kubernetes_commands(path) + prose_commands(path)
    found += dockerfile_commands(DOCKERFILE) + prose_commands(DOCKERFILE)
    for path in (README, NGINX_CONF, *sorted(PROMETHEUS.glob("*.yml"))):
        found += prose_commands(path)
    return found


# -- metrics ------------------------------------------------------------------------------

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, aggregations, label names
    and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group(0).lower() not in _KEYWORDS:
            names.add(match.group(0))
    return names


def exported_series(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition declares (# TYPE lines), including
    labelled metrics with no sample yet: a counter's ``_total``, a histogram's ``_bucket``,
    ``_count`` and ``_sum``."""
    names = set()
    for line in exposition.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split()
        if kind == "counter":
            names.add(name if name.endswith("_total") else f"{name}_total")
        elif kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        elif kind == "summary":
            names |= {name, f"{name}_count", f"{name}_sum"}
        else:
            names.add(name)
    return names


def rule_exprs() -> list[tuple[str, str]]:
    """(alert name, expression) of every rule in deploy/prometheus/modelward-rules.yml."""
    rules = yaml.safe_load((PROMETHEUS / "modelward-rules.yml").read_text(encoding="utf-8"))
    return [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expression) of every panel target and template query of the dashboard."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query["query"])
            assert inner, f"template {variable['name']}: not a label_values query"
            found.append((f"template {variable['name']}", inner.group(1)))
    return found
