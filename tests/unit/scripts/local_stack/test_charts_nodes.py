"""The chart repository's change detection (charts.py) and the simulated Nodes (nodes.py), without a server."""
from __future__ import annotations

import pytest

from local_stack import charts, common, nodes


def _chart(root, name, version, values="a: 1\n"):
    d = root / name / version
    (d / "templates").mkdir(parents=True)
    (d / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (d / "values.yaml").write_text(values)
    return d


def test_the_digest_changes_with_a_chart_file_the_helm_version_or_the_url_only(tmp_path):
    a = _chart(tmp_path, "a", "1.0.0")
    _chart(tmp_path, "b", "2.0.0")
    dirs = charts.chart_dirs(tmp_path)
    assert [d.name for d in dirs] == ["1.0.0", "2.0.0"]
    first = charts.source_digest(dirs, helm_version="v4.3.2", url="http://127.0.0.1:1")
    assert charts.source_digest(dirs, helm_version="v4.3.2", url="http://127.0.0.1:1") == first
    assert charts.source_digest(dirs, helm_version="v4.3.3", url="http://127.0.0.1:1") != first
    assert charts.source_digest(dirs, helm_version="v4.3.2", url="http://127.0.0.1:2") != first
    (a / "values.yaml").write_text("a: 2\n")
    assert charts.source_digest(dirs, helm_version="v4.3.2", url="http://127.0.0.1:1") != first


def test_no_chart_is_one_clear_error_naming_the_directory(tmp_path):
    with pytest.raises(common.StackError, match=str(tmp_path)):
        charts.chart_dirs(tmp_path)


def test_a_simulated_node_carries_kwok_s_annotation_and_its_capacity():
    node = nodes.node_manifest("kwok-node-0")
    key, value = nodes.KWOK_ANNOTATION
    assert node["metadata"]["annotations"][key] == value
    assert node["status"]["capacity"] == node["status"]["allocatable"] == nodes.NODE_CAPACITY
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "kwok-node-0"


def test_every_new_component_has_a_loopback_port_setting_and_a_group():
    for name in ("kube-scheduler", "kwok", "chart-repo", "helm-controller"):
        assert name in common.COMPONENTS
        assert any(name in members for members in common.GROUPS.values())
        assert common.DEFAULT_PORTS[name][0].startswith("TIDEPOOL_STACK_")
    assert len({port for _, port in common.DEFAULT_PORTS.values()}) == len(common.DEFAULT_PORTS)
