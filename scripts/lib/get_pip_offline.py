"""Offline stand-in for the get-pip script ansible-test downloads when it bootstraps pip in a sanity venv.

ansible-test (ansible_test/_util/target/setup/requirements.py, ``bootstrap``) runs
``~/.ansible/test/cache/get_pip_<version>.py`` when that file exists, instead of downloading it from a
host this machine cannot reach, with pip's install options in ``sys.argv`` (for example
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``). This stand-in installs the
standard library's bundled pip with ``ensurepip`` and then lets that pip install the requested packages
from the configured package index (pip's own config, e.g. ``PIP_INDEX_URL``) with the system CA bundle.
``--no-setuptools``/``--no-wheel`` are get-pip options that pip itself does not know; they are dropped.

scripts/sanity copies this file into ansible-test's cache; the project never names an index host.
"""

import os
import subprocess
import sys

CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    """Bootstrap pip with ensurepip, then ``pip install`` the packages in ``sys.argv[1:]``."""
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    for bundle in CA_BUNDLES:
        if os.path.exists(bundle) and "PIP_CERT" not in os.environ:
            args = ["--cert", bundle] + args
            break
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
