"""Discovered by the worker processes of the deploy tests: ``Journey`` as ``ATM_TEST_RELEASE`` (v1, v2)."""

import os

from tests.deploy_flows import declare

Journey = declare(os.environ.get("ATM_TEST_RELEASE", "v1"))
