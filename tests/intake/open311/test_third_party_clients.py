"""Real clients over real HTTP: a uvicorn server on a loopback port.

- ``georeport`` (PyPI 0.3.1), unchanged: every GET it offers, in both of its formats. It has
  no POST method.
- ``open311`` (PyPI 1.1, 2011) cannot be imported on Python 3 (implicit relative imports,
  ``getchildren()``), so its POST is replayed exactly as its ``post_service_request`` builds
  it: api_key and jurisdiction_id in the query string, the arguments form-encoded in the body.
- FixMyStreet's ``Open311.pm`` is Perl; its request, token and update calls are replayed with
  the argument names it sends.
"""

from __future__ import annotations

import socket
import threading
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from intake.open311.o311city import UNIT, open311_app, seed_city
from jiesu.intake.open311.catalog import Options
from jiesu.kit.clock import FixedClock

georeport = pytest.importorskip("georeport", reason="pip install -e '.[test]' installs it")

JURISDICTION = "test.jiesu.city"


@dataclass
class Server:
    url: str  # the endpoint: http://127.0.0.1:PORT/open311/v2
    keys: dict[str, str]


@pytest.fixture
def server(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Server]:
    keys = seed_city(session, clock.now())
    app = open311_app(db_url, clock, tmp_path)
    app.state.open311 = Options(service_types={"010103": "batch"})
    # A socket already listening before the server thread starts: the kernel holds early
    # connections until uvicorn accepts them, so nothing has to wait for start-up.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{sock.getsockname()[1]}/open311/v2", keys)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _post(url: str, query: dict[str, str], form: dict[str, str]) -> tuple[int, bytes]:
    full = f"{url}?{urllib.parse.urlencode(query)}" if query else url
    body = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(full, body, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _open311_lib_post(server: Server, **kwargs: str) -> tuple[int, bytes]:
    """What ``open311.Open311.post_service_request(**kwargs)`` sends (format xml)."""
    query = {"jurisdiction_id": JURISDICTION, "api_key": server.keys["key"]}
    return _post(f"{server.url}/requests.xml", query, kwargs)


def _fms_post(server: Server, path: str, params: dict[str, str]) -> tuple[int, ET.Element]:
    """What FixMyStreet's ``Open311->_post`` sends: everything in one form."""
    form = {"jurisdiction_id": JURISDICTION, "api_key": server.keys["key"], **params}
    status, body = _post(f"{server.url}/{path}", {}, form)
    return status, ET.fromstring(body)


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_georeport_reads_everything(server: Server, output_format: str) -> None:
    client = georeport.GeoReport(server.url, jurisdiction=JURISDICTION, output_format=output_format)
    services = client.get_service_list()
    assert [s["service_code"] for s in services] == ["010101", "010102", "010103", "010104"]
    assert services[1]["group"] == "城乡建设"
    definition = client.get_service_definition("010102")
    assert definition["service_code"] == "010102"
    attributes = definition["attributes"]
    if output_format == "xml":  # xmltodict keeps the XML wrapper
        attributes = attributes["attribute"]
    assert attributes[0]["code"] == "SCOPE"

    tickets = []
    for n in range(2):
        status, body = _open311_lib_post(
            server,
            service_code="010101",
            address_string=f"东华门街道{n}号楼",
            first_name="John",
            last_name="Smith",
            phone="111-111-1111",
            email="me@email.com",
            description="A large sinkhole is destroying the street",
            media_url="http://imgur.com/123_street_sinkhole.png",
        )
        assert status == 201, body
        tickets.append(ET.fromstring(body).findtext("request/service_request_id"))

    found = client.get_service_requests(service_code="010101,010102", status="open")
    assert {r["service_request_id"] for r in found} == set(tickets)
    assert all(r["status"] == "open" for r in found)
    assert "Smith" not in str(found) and "me@email.com" not in str(found)
    window = client.get_service_requests(
        start_date="2026-11-01T00:00:00+08:00", end_date="2026-11-03T00:00:00+08:00"
    )
    assert len(window) == 2
    one = client.get_service_request(tickets[0])
    assert one["service_request_id"] == tickets[0]
    assert one["address"] == "东华门街道0号楼"
    assert one["lat"] is None  # located by address only: null in JSON, empty in XML


def test_georeport_errors_are_http_errors(server: Server) -> None:
    import requests

    client = georeport.GeoReport(server.url, jurisdiction="sfgov.org")
    with pytest.raises(requests.HTTPError) as caught:
        client.get_service_list()
    assert caught.value.response.status_code == 404
    assert caught.value.response.json()[0]["code"] == 404


def test_fixmystreet_request_token_and_update_calls(server: Server, clock: FixedClock) -> None:
    # send_service_request: a batch service answers with a token, resolved at once.
    request = {
        "lat": "39.915",
        "long": "116.404",
        "email": "resident@example.org",
        "description": "title: 燃气味\n\ndetail: 楼道有燃气味\n\nSubmitted via FixMyStreet",
        "service_code": "010103",
        "first_name": "Jane",
        "last_name": "Doe",
        "attribute[fixmystreet_id]": "9001",
    }
    status, root = _fms_post(server, "requests.xml", request)
    assert status == 201
    token = root.findtext("request/token")
    assert token and root.find("request/service_request_id") is None
    with urllib.request.urlopen(
        f"{server.url}/tokens/{token}.xml?jurisdiction_id={JURISDICTION}", timeout=10
    ) as resp:
        ticket = ET.fromstring(resp.read()).findtext("request/service_request_id")
    assert ticket
    # FixMyStreet resends on a timeout: the same report is not filed twice.
    status, again = _fms_post(server, "requests.xml", request)
    assert status == 200 and again.findtext("request/token") == token

    # post_service_request_update: a citizen's comment, kept as a note.
    clock.advance(timedelta(minutes=5))
    status, root = _fms_post(
        server,
        "servicerequestupdates.xml",
        {
            "update_id_ext": "77",
            "updated_datetime": "2026-11-02T09:35:00+08:00",
            "service_request_id": ticket,
            "service_request_id_ext": "9001",
            "status": "OPEN",
            "email": "resident@example.org",
            "description": "味道更重了",
            "public_anonymity_required": "FALSE",
        },
    )
    assert status == 201
    assert root.tag == "service_request_updates"
    assert root.findtext("request_update/external_status_code") == "note"
    assert root.findtext("request_update/update_id")

    # get_service_request_updates, as GetServiceRequestUpdates reads them.
    with urllib.request.urlopen(
        f"{server.url}/servicerequestupdates.xml?jurisdiction_id={JURISDICTION}"
        "&start_date=2026-11-02T09%3A00%3A00%2B08%3A00&end_date=2026-11-02T10%3A00%3A00%2B08%3A00",
        timeout=10,
    ) as resp:
        updates = ET.fromstring(resp.read()).findall("request_update")
    assert [u.findtext("status") for u in updates] == ["OPEN"]  # received; the note is internal


def test_a_unit_system_moves_the_case(server: Server, session: Session, clock: FixedClock) -> None:
    from intake.open311.o311city import STAFF
    from jiesu.city.service import city_context
    from jiesu.workflow.service import apply_action, get_by_ticket

    status, body = _open311_lib_post(server, service_code="010101", lat="39.9", long="116.4")
    assert status == 201
    ticket = ET.fromstring(body).findtext("request/service_request_id")
    assert ticket
    req = get_by_ticket(session, ticket)
    apply_action(
        session,
        req,
        "dispatch",
        actor=STAFF["disp"],
        now=clock.now(),
        ctx=city_context(session),
        params={"unit": UNIT},
    )
    session.commit()
    for update_status, description in (("INVESTIGATING", ""), ("FIXED", "已处理完毕")):
        status, root = _post(
            f"{server.url}/servicerequestupdates.json",
            {},
            {
                "api_key": server.keys["unit_key"],
                "service_request_id": ticket,
                "status": update_status,
                "description": description,
            },
        )
        assert status == 201, root
    session.expire_all()
    assert get_by_ticket(session, ticket).status == "replied"


def test_concurrent_retries_make_one_request(server: Server, session: Session) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from jiesu.workflow.models import ServiceRequest

    def attempt(_: int) -> tuple[int, str | None]:
        request = urllib.request.Request(
            f"{server.url}/requests.xml",
            data=urllib.parse.urlencode(
                {"api_key": server.keys["key"], "service_code": "010101", "address_string": "x"}
            ).encode(),
            headers={"Idempotency-Key": "client-retry-1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                body = ET.fromstring(resp.read())
                return resp.status, body.findtext("request/service_request_id")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert sorted(code for code, _ in results) == [200] * 7 + [201], results
    assert len({ticket for _, ticket in results}) == 1
    session.expire_all()
    assert session.scalar(select(func.count(ServiceRequest.id))) == 1
