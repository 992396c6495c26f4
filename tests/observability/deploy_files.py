"""The observability files of deploy/ as data, for both test modules: the dashboards' and
rules' PromQL, template variables filled in the way Grafana would, and the metric catalogue of
docs/operations.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
OPERATIONS = REPO / "docs" / "operations.md"

# What Grafana puts in place of its variables. `$job` and `$instance` are multi-value
# variables used as `=~"$job"`: one job, and every instance.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "10m",
    "$job": "chatter",
    "$instance": ".*",
}


def load_dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those inside rows."""
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def substitute(expr: str) -> str:
    # Longest names first (`$__interval` is not a prefix of `$__rate_interval`, but `$job` could
    # be of a longer name); both spellings, `${name}` and `$name`.
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace("${" + name[1:] + "}", SUBSTITUTIONS[name]).replace(name, SUBSTITUTIONS[name])
    left = re.findall(r"\$\{?\w+", expr)
    assert not left, f"unknown template variables {left} in {expr}"
    return expr


def dashboard_exprs() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL with variables substituted) for every target."""
    out = []
    for name, dashboard in load_dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                out.append((name, panel["title"], substitute(target["expr"])))
    return out


def variable_selectors() -> list[tuple[str, str, str]]:
    """(dashboard, variable, the series selector inside its label_values(...))."""
    out = []
    for name, dashboard in load_dashboards().items():
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert match, f"{name}: variable {variable['name']}: only label_values(selector, label) is expected, got {query}"
            out.append((name, variable["name"], substitute(match.group(1))))
    return out


def rules() -> list[dict]:
    out = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            out.extend(group["rules"])
    return out


def catalogue() -> dict[str, str]:
    """Metric name -> type, from the table in docs/operations.md."""
    out = {}
    for line in OPERATIONS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        kind = cells[1].split()[0]
        for name in re.findall(r"`([a-z_]+)`", cells[0]):
            out[name] = kind
    return out


def metric_names(expr: str) -> set[str]:
    """The Chatter and process metrics an expression reads (not recording rules' names)."""
    return set(re.findall(r"(?<![\w:])((?:chatter|process)_[a-z_]+)", expr))


def base_name(name: str, known: dict[str, str]) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and known.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name
