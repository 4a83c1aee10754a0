"""An app for the deploy tests' worker processes: it declares ``Journey`` as ``ATM_TEST_RELEASE`` says."""
