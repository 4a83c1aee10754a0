"""Users and clients for the tests of the JSON API."""

import pytest
from rest_framework.test import APIClient

from tests.api.flows import make_people, token_for


@pytest.fixture
def people(db):
    return make_people()


@pytest.fixture
def api(people):
    """Return ``api(role)``: an API client with the token of that role's user (``None``: anonymous)."""

    def client(role=None):
        client = APIClient()
        if role is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(people[role])}")
        return client

    return client
