"""The observability files of deploy/ checked without a running Chatter: promtool on the
Prometheus config, rules and rule tests; every alert tested firing and not, and linked to its
runbook; the dashboards' JSON and PromQL; Grafana provisioning; the collector's and Filebeat's
configuration; nginx refusing /metrics."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy_files import (DEPLOY, OPERATIONS, PROMETHEUS, REPO, RULE_FILES, base_name, catalogue, dashboard_exprs,
                          load_dashboards, metric_names, panels, rules, variable_selectors)

GRAFANA = DEPLOY / "grafana"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=REPO, input=stdin, capture_output=True, text=True, timeout=60)


def provisioned_uid() -> str:
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert len(datasources) == 1 and datasources[0]["type"] == "prometheus", datasources
    return datasources[0]["uid"]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


# --- Prometheus ---------------------------------------------------------------------------

def test_promtool_check_config():
    result = promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules():
    result = promtool("check", "rules", *[str(path.relative_to(REPO)) for path in RULE_FILES])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules():
    result = promtool("test", "rules", "deploy/prometheus/tests/alerts_test.yml")
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_the_config_loads_every_rule_file():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert sorted(config["rule_files"]) == sorted(str(path.relative_to(PROMETHEUS)) for path in RULE_FILES)
    assert [job["job_name"] for job in config["scrape_configs"]] == ["chatter"]


def test_the_required_alerts_exist_with_severity_summary_description_and_runbook():
    names = {rule["alert"] for rule in alerts()}
    assert names >= {"ChatterDeliveryLatencyHigh", "ChatterOutboxBacklogGrowing", "ChatterOutboxStalled",
                     "ChatterEventlogConsumerLagHigh", "ChatterHTTP5xxRateHigh", "ChatterInstanceDown"}, names
    headings = {github_anchor(line.lstrip("#").strip()) for line in OPERATIONS.read_text().splitlines()
                if line.startswith("#")}
    for rule in alerts():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule
        path, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert path == "docs/operations.md" and anchor in headings, f"{rule['alert']}: no heading for {anchor}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_alert_is_tested_firing_and_not_firing():
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in alerts():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case.get("exp_alerts") for case in mine), f"{rule['alert']}: no case where it fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{rule['alert']}: no case where it stays quiet"


def test_rules_and_dashboards_read_only_catalogued_metrics():
    known = catalogue()
    exprs = [rule["expr"] for rule in rules()] + [expr for _, _, expr in dashboard_exprs()]
    exprs += [selector for _, _, selector in variable_selectors()]
    used = {base_name(name, known) for expr in exprs for name in metric_names(expr)}
    assert used - set(known) == set(), "not in docs/operations.md's catalogue"
    # And the recording rules the dashboards read exist.
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    read = {name for _, _, expr in dashboard_exprs() for name in re.findall(r"\b(\w+:\w+:\w+)\b", expr)}
    assert read <= recorded, read - recorded


# --- Grafana ------------------------------------------------------------------------------

def test_dashboards_are_the_expected_five():
    assert sorted(load_dashboards()) == ["delivery-slo.json", "kafka-outbox.json", "overview.json", "role-red.json",
                                         "websocket.json"]


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_dashboard_is_valid_and_uses_the_provisioned_datasource(name):
    dashboard = load_dashboards()[name]
    uid = provisioned_uid()
    assert dashboard["uid"] and dashboard["title"] and 36 <= dashboard["schemaVersion"] <= 41
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        title = panel.get("title")
        assert title and set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, title
        assert panel["targets"], f"{title}: no targets"
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], f"{title}: {target}"
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], title
    for variable in dashboard.get("templating", {}).get("list", []):
        assert variable["datasource"] == {"type": "prometheus", "uid": uid}, variable["name"]
    defined = {variable["name"] for variable in dashboard.get("templating", {}).get("list", [])}
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            used = set(re.findall(r"\$\{?([a-z]\w*)", target["expr"]))
            assert used <= defined, f"{panel['title']}: undefined variables {used - defined}"


def test_dashboard_uids_are_unique():
    uids = [dashboard["uid"] for dashboard in load_dashboards().values()]
    assert len(uids) == len(set(uids))


def test_dashboard_exprs_parse_as_promql(tmp_path: Path):
    # promtool parses PromQL offline when it is a rule: every dashboard expression (variables
    # substituted as Grafana would) as a recording rule.
    exprs = [expr for _, _, expr in dashboard_exprs()] + [selector for _, _, selector in variable_selectors()]
    group = {"name": "dashboards", "rules": [{"record": f"dashboard:expr_{i}:check", "expr": expr}
                                             for i, expr in enumerate(exprs)]}
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [group]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_provisioning_points_at_the_dashboards():
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "chatter.yml").read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"], providers


# --- Traces and logs ----------------------------------------------------------------------

def test_otel_collector_config_has_the_trace_pipeline():
    config = yaml.safe_load((DEPLOY / "otel-collector" / "config.yaml").read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317") and protocols["http"]["endpoint"].endswith(":4318")
    assert "batch" in config["processors"]
    exporters = config["exporters"]
    assert exporters["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert exporters["zipkin"]["endpoint"] == "http://zipkin:9411/api/v2/spans"
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"] and "batch" in traces["processors"]
    assert set(traces["exporters"]) == {"otlp/jaeger", "zipkin"}
    # Everything a pipeline names is defined.
    for kind in ("receivers", "processors", "exporters"):
        assert set(traces[kind]) <= set(config[kind]), kind


def test_filebeat_parses_json_lines_to_the_top_level_and_ships_to_elasticsearch():
    config = yaml.safe_load((DEPLOY / "filebeat" / "filebeat.yml").read_text())
    inputs = config["filebeat.inputs"]
    assert inputs
    for item in inputs:
        ndjson = [parser["ndjson"] for parser in item["parsers"] if "ndjson" in parser]
        assert len(ndjson) == 1 and ndjson[0]["target"] == "" and ndjson[0]["expand_keys"] is True, item["id"]
    assert config["output.elasticsearch"]["hosts"]


def test_nginx_refuses_metrics():
    template = (DEPLOY / "nginx" / "chatter.conf.template").read_text()
    block = re.search(r"location = /metrics \{(.*?)\}", template, re.S)
    assert block and re.search(r"\b(return 404|deny all)\b", block.group(1)), "nginx must not serve /metrics"
