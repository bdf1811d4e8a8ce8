"""Every chart source flavour 2 renders is a maintained upstream repository named here, project by project: the
shared services' HelmRepositories (HTTP or OCI) from the flavour's chart catalogue (gitops/flux_v2/charts.py, over
every package of config/catalogue.py it installs) and the Tidepool chart's GitRepository. None is on a host of the
archived Helm repositories (charts.helm.sh, kubernetes-charts.storage.googleapis.com...), so a chart an operator
gets from the catalogue is one its project still publishes, not a frozen 2020 copy that current Kubernetes refuses.
A new repository in the catalogue is a new line here, with its project."""
from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import charts
from tests.support.inventory import load_values

V2 = registry.flavour(2)

#: The Helm chart repositories flavour 2 may install from (HTTP ``index.yaml`` or ``oci://`` registries), each its
#: project's own published repository.
MAINTAINED_HELM_REPOSITORIES = {
    "https://charts.jetstack.io",                           # cert-manager (cert-manager project, Jetstack / CNCF)
    "https://storage.googleapis.com/solo-public-helm",      # Gloo Edge (Solo.io)
    "https://stakater.github.io/stakater-charts",           # Reloader (Stakater)
    "https://charts.external-secrets.io",                   # External Secrets Operator (external-secrets org)
    "https://kubernetes-sigs.github.io/external-dns/",      # ExternalDNS (Kubernetes SIGs)
    "https://kubernetes-sigs.github.io/metrics-server/",    # metrics-server (Kubernetes SIGs)
    "https://kubernetes.github.io/autoscaler",              # Cluster Autoscaler (kubernetes/autoscaler)
    "https://prometheus-community.github.io/helm-charts",   # kube-prometheus-stack (Prometheus community)
    "https://helm.linkerd.io/edge",                         # linkerd-crds (Linkerd, edge channel)
}
#: The git repositories flavour 2 may take a chart from.
MAINTAINED_GIT_REPOSITORIES = {
    "https://github.com/tidepool-org/development",          # the Tidepool chart (Tidepool, charts/tidepool at a tag)
}
#: Hosts of the archived Helm repositories ("stable" and "incubator", read-only since November 2020).
DEPRECATED_HOSTS = ("charts.helm.sh", "kubernetes-charts.storage.googleapis.com",
                    "kubernetes-charts-incubator.storage.googleapis.com")
#: The same buckets by path (``https://storage.googleapis.com/<bucket>``), and the charts' archived git repository.
DEPRECATED_PREFIXES = ("storage.googleapis.com/kubernetes-charts", "github.com/helm/charts")

SOURCE_KINDS = ("HelmRepository", "OCIRepository", "GitRepository")


def _all_packages():
    values = load_values("test2")
    values["pkgs"] = {pkg: {"enabled": True} for pkg in catalogue.PKGS if pkg not in V2.UNSUPPORTED_PACKAGES}
    return values


HOSTS = {"test2": lambda: load_values("test2"), "local": lambda: load_values("local"), "all-packages": _all_packages}


def _sources(values):
    """``[(kind, url, used_by_a_release)]`` of every chart source the render of ``values`` holds."""
    objs = list(tree.render_tree(values, registry.for_values(values)).values())
    used = {(o["spec"]["chart"]["spec"]["sourceRef"]["kind"], o["spec"]["chart"]["spec"]["sourceRef"]["name"],
             o["spec"]["chart"]["spec"]["sourceRef"]["namespace"]) for o in objs if o["kind"] == "HelmRelease"}
    sources = {(o["kind"], o["metadata"]["name"], o["metadata"]["namespace"]): o["spec"]["url"]
               for o in objs if o["kind"] in SOURCE_KINDS}
    assert used <= set(sources), f"releases whose chart source is not rendered: {sorted(used - set(sources))}"
    return [(kind, url, (kind, name, ns) in used) for (kind, name, ns), url in sorted(sources.items())]


def _deprecated(url):
    parts = urlsplit(url)
    where = f"{parts.hostname}{parts.path}"
    return parts.hostname in DEPRECATED_HOSTS or where.startswith(DEPRECATED_PREFIXES)


def _unmaintained(sources):
    """The URLs of ``sources`` (:func:`_sources`) on an archived host, or not in the lists above: every Helm or OCI
    repository, and each git repository a release takes its chart from (not the config repository)."""
    out = []
    for kind, url, used in sources:
        listed = MAINTAINED_GIT_REPOSITORIES if kind == "GitRepository" else MAINTAINED_HELM_REPOSITORIES
        if _deprecated(url) or (url not in listed and (used or kind != "GitRepository")):
            out.append(url)
    return out


def test_every_chart_source_is_a_maintained_upstream_repository():
    """The render of test2, local and of every package flavour 2 installs takes each chart from a listed
    repository; the catalogue renders each listed repository (the lists name what is used, nothing more)."""
    rendered = set()
    for host, make in HOSTS.items():
        sources = _sources(make())
        assert _unmaintained(sources) == [], host
        rendered |= {url for _kind, url, used in sources if used}
    assert rendered == MAINTAINED_HELM_REPOSITORIES | MAINTAINED_GIT_REPOSITORIES


def test_the_catalogue_names_only_maintained_repositories():
    """The catalogue's own entries, rendered or not: the repositories, each package's chart, the Tidepool chart."""
    assert {url for _name, url in V2.CHART_REPOSITORIES} == MAINTAINED_HELM_REPOSITORIES
    assert {chart["repository"] for chart in V2.CHARTS.values()} <= MAINTAINED_HELM_REPOSITORIES
    assert V2.TIDEPOOL_CHART["git"] in MAINTAINED_GIT_REPOSITORIES
    assert V2.TIDEPOOL_CHART == tidepool_chart.CHART_0_26
    assert [url for url in MAINTAINED_HELM_REPOSITORIES | MAINTAINED_GIT_REPOSITORIES if _deprecated(url)] == []


def test_the_repository_check_can_fail(monkeypatch):
    """external-dns taken from the archived stable repository again (its 2019 chart's home) is refused."""
    stable = "https://charts.helm.sh/stable"
    monkeypatch.setitem(charts.CHARTS, "external-dns", {"repository": stable, "name": "external-dns",
                                                        "version": "2.6.1"})
    assert _unmaintained(_sources(load_values("test2"))) == [stable]
    for url in ("https://charts.helm.sh/incubator", "https://kubernetes-charts.storage.googleapis.com",
                "https://kubernetes-charts-incubator.storage.googleapis.com/",
                "https://storage.googleapis.com/kubernetes-charts", "https://github.com/helm/charts"):
        assert _deprecated(url), url
    assert _unmaintained([("HelmRepository", "https://charts.example.org", True)]) == ["https://charts.example.org"]
    assert _unmaintained([("GitRepository", "https://github.com/helm/charts", True)]) == [
        "https://github.com/helm/charts"]
