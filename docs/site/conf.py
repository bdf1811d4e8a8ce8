# Sphinx configuration of the tidepool.eks docs site (scripts/docs-site builds it; started from the one
# `antsibull-docs sphinx-init` writes, antsibull-docs 2.28.0).
#
# Built offline: no intersphinx inventories are fetched. References into the Ansible docsite that antsibull-docs
# writes (common_return_values, ansible_configuration_settings, modules of other collections such as
# amazon.aws.ec2_vpc_peer) are resolved by `_external_ansible_reference` below to their public URLs; any other
# unresolved reference stays a warning, and warnings are errors (-W), so a wrong O(option) or M(module) in a
# DOCUMENTATION block fails the build.
from docutils import nodes

project = "tidepool.eks"
copyright = "contributors to tidepool.eks"  # noqa: A001  (Sphinx's name)
title = "tidepool.eks collection documentation"
html_short_title = "tidepool.eks"
extensions = ["sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
nitpicky = True

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
# Labels of the Ansible docsite antsibull-docs refers to in every collection's pages.
DOCSITE_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
OWN_PREFIX = "ansible_collections.tidepool.eks."


def _external_ansible_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    """A reference node to the public Ansible docs for a label of the docsite or a plugin page of another
    collection (``ansible_collections.<ns>.<coll>.<plugin>_<type>[__...]``); None (Sphinx warns) for anything else,
    this collection's own labels included."""
    target = node.get("reftarget", "")
    url = None
    if target in DOCSITE_LABELS:
        url = ANSIBLE_DOCS + DOCSITE_LABELS[target]
    elif target.startswith("ansible_collections.") and not target.startswith(OWN_PREFIX):
        parts = target.split(".")
        if len(parts) >= 4:
            namespace, collection, page = parts[1], parts[2], parts[3].split("__")[0]
            url = f"{ANSIBLE_DOCS}collections/{namespace}/{collection}/{page}.html"
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url)
    ref += contnode
    return ref


def setup(app):
    app.connect("missing-reference", _external_ansible_reference)
