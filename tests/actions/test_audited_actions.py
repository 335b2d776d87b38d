"""run_action on the inputs an audit found slipping through: refused before sending with the
parameter named, and the data an action returns holds only what the server sent."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async._converters import structure
from refiner_async._serialize import to_json
from refiner_async.actions import run_action
from refiner_async.models.contacts import Contact
from refiner_async.models.responses import Response
from refiner_async.testing import FakeRefiner

from .conftest import check_envelope

pytestmark = [
    pytest.mark.fake_refiner(seed=1, responses=20, contacts=10, forms=2, segments=2),
    pytest.mark.usefixtures("instant"),
]

REFUSED = [
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": {"big": 10**30}}, "attributes.big"),
    (
        "REFINER_UPDATE_CONTACT",
        {"id": "u1", "account": {"id": "a", "n": -(2**63) - 1}},
        "account.n",
    ),
    (
        "REFINER_UPDATE_CONTACT",
        {"id": "u1", "attributes": {"email": "a@b.io"}},
        "attributes['email']",
    ),
    ("REFINER_GET_CONTACTS", {"page": 10**30}, "page"),
    ("REFINER_GET_CONTACTS", {"page_cursor": ""}, "page_cursor"),
    ("REFINER_GET_RESPONSES", {"page_cursor": ""}, "page_cursor"),
    ("REFINER_GET_SEGMENTS", {"page_cursor": "c\r\nX: 1"}, "cursor"),
    ("REFINER_GET_CONTACT", {"email": "x@y.com?a=b&uuid=z"}, "email"),
    ("REFINER_DELETE_CONTACT", {"email": "x@y.com&id=1"}, "email"),
    ("REFINER_GET_RESPONSES", {"search": "x" * 20_000}, "search"),
    ("REFINER_GET_RESPONSES", {"search": "a\nb"}, "search"),
    ("REFINER_GET_RESPONSES", {"form_uuids": [f"f{i}" for i in range(3000)]}, "form_uuids"),
]


@pytest.mark.parametrize(("name", "params", "param"), REFUSED)
async def test_audited_bad_params_fail_without_a_request(
    refiner_client: RefinerClient,
    fake_refiner: FakeRefiner,
    name: str,
    params: Any,
    param: str,
) -> None:
    """successful=false with 'invalid parameter <name>' (never 'unexpected TypeError'), nothing sent."""
    envelope = check_envelope(
        await run_action(refiner_client, name, params), name, fake_refiner.api_key
    )
    assert not envelope["successful"]
    assert envelope["error"].startswith(f"invalid parameter {param}"), envelope["error"]
    assert fake_refiner.stats()["requests_total"] == 0


async def test_integer_account_id_is_accepted_like_the_typed_call(
    refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """UPDATE_CONTACT takes an integer account.id, as contacts.identify does (sent as text)."""
    envelope = await run_action(
        refiner_client, "REFINER_UPDATE_CONTACT", {"id": "u-int", "account": {"id": 42}}
    )
    assert envelope["successful"], envelope["error"]
    contact = await run_action(refiner_client, "REFINER_GET_CONTACT", {"id": "u-int"})
    assert contact["data"]["account"]["remote_id"] == "42"


def test_data_holds_no_empty_mapping_the_server_never_sent() -> None:
    """A contact without attributes (or with null) shows no 'attributes: {}'; one the server sent
    as {} is kept, and so are the known keys it sent as null."""
    bare = to_json(structure({"uuid": "c1", "email": None}, Contact))
    assert "attributes" not in bare
    assert bare["email"] is None
    null = to_json(structure({"uuid": "c1", "attributes": None}, Contact))
    assert "attributes" not in null
    sent = to_json(structure({"uuid": "c1", "attributes": {}}, Contact))
    assert sent["attributes"] == {}
    response = to_json(
        structure({"uuid": "r1", "contact": {"uuid": "c1"}, "data": {"q": 1}}, Response)
    )
    assert response["contact"].get("attributes") is None  # not requested: null, never {}
    assert response["data"] == {"q": 1}


def test_account_sent_as_an_empty_array_reads_as_none() -> None:
    """PHP's empty array where the account object would be reads as no account, as documented."""
    contact = structure({"uuid": "c1", "account": []}, Contact)
    assert contact.account is None
    assert to_json(contact)["account"] is None
