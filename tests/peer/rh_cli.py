"""Runs rh-model-signing's own command line (`model_signing._cli:main`, as its `rh_model_signing`
console script does) against the loopback registries of the OCI tests.

rh-model-signing 1.0.5 always talks https to a registry (`OrasClient(insecure=False)` in
`verify_image` and `sign_image`); the test registries speak plain http on 127.0.0.1. This
harness changes that one default, the transport, before the CLI runs; nothing it checks is
touched. Used by crates/model-signing-cli/tests/oci.rs.

    python rh_cli.py verify key --public-key K oci://HOST/REPO:TAG
"""

import sys

from model_signing._oci import registry

_init = registry.OrasClient.__init__


def _plain_http(self, *, insecure=False, tls_verify=True):
    _init(self, insecure=True, tls_verify=tls_verify)


registry.OrasClient.__init__ = _plain_http

from model_signing._cli import main  # noqa: E402

sys.argv[0] = "rh_model_signing"
sys.exit(main())
