"""Users for the tests of forms, views and live task lists."""

import pytest

from tests.people.flows import make_user


@pytest.fixture
def ada(db):
    return make_user("ada")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def root(db):
    return make_user("root", superuser=True)


@pytest.fixture
def reviewer(db):
    return make_user("rita", groups=["Reviewers"])


@pytest.fixture
def approver(db):
    return make_user("alex", permissions=["approvals.approve_expense"])
