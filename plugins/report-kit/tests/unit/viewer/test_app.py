"""The report viewer's guard, in-process (FastAPI's TestClient, Airflow's own auth manager, tokens and database).

Airflow 3 gives a plugin's FastAPI app no authentication of its own: every route checks the caller.
Which DAG published a page (and who may read it) needs the metadata database: that part runs
against a real api-server in test_report_ui.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.api_fastapi.app import init_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow_report_kit.viewer.app import app
from airflow_report_kit.viewer.links import publishers, publishers_folder, reports_root, serve_like, serve_pages
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def auth_manager(airflow_db):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "unit-test-secret")
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,nobody:")
        yield init_auth_manager()


@pytest.fixture(scope="module")
def client(auth_manager) -> TestClient:
    return TestClient(app)


def token(auth_manager, role: str | None) -> dict[str, str]:
    jwt = auth_manager.generate_jwt(SimpleAuthManagerUser(username="someone", role=role))
    return {"Authorization": f"Bearer {jwt}"}


@pytest.mark.parametrize("path", ["/", "/runs/2024-03-08/report.html", "/dags/nightly_sector_report/runs/x"])
def test_anonymous_and_forged_callers_are_refused(client: TestClient, path: str) -> None:
    assert client.get(path, follow_redirects=False).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403)


def test_a_signed_in_user_without_a_role_may_not_read_reports(client: TestClient, auth_manager) -> None:
    assert client.get("/", headers=token(auth_manager, None), follow_redirects=False).status_code == 403


def test_a_reader_is_sent_to_the_index(client: TestClient, auth_manager) -> None:
    response = client.get("/", headers=token(auth_manager, "viewer"), follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/reports/index.html"


@pytest.mark.parametrize("path", ["/runs/2024-03-08/control.json", "/..%2F..%2F..%2Fetc%2Fpasswd", "/../etc/passwd"])
def test_nothing_but_html_under_the_root_is_ever_served(client: TestClient, auth_manager, path: str) -> None:
    response = client.get(path, headers=token(auth_manager, "admin"))
    assert response.status_code == 404
    assert "No report has been published at" in response.text


def test_a_page_is_served_while_it_exists_to_readers_of_a_dag_that_published_it(client, auth_manager) -> None:
    """One folder listing per request (not a scan of every run's registrations); a withdrawn page is gone."""
    root = reports_root().resolve()
    page = root / "runs" / "2099-01-02" / "report.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("<p>night</p>")
    url = "/runs/2099-01-02/report.html"
    admin = token(auth_manager, "admin")
    assert client.get(url, headers=admin).status_code == 404, "no DAG published it"
    publishers_folder(root, "runs/2099-01-02/report.html").mkdir(parents=True)
    (publishers_folder(root, "runs/2099-01-02/report.html") / "nightly_sector_report").touch()
    assert publishers(root, "runs/2099-01-02/report.html") == {"nightly_sector_report"}
    response = client.get(url, headers=admin)
    assert response.status_code == 200
    assert response.text == "<p>night</p>"
    assert client.get("/.report-viewer/runs/2099-01-02/report.html", headers=admin).status_code == 404
    page.unlink()  # withdrawn
    assert client.get(url, headers=admin).status_code == 404


def test_a_page_that_moved_is_served_to_the_readers_of_the_page_it_was(client, auth_manager) -> None:
    root = reports_root().resolve()
    old, new = root / "runs" / "2099-01-03" / "report.html", root / "revisions" / "2099-01-03" / "r1" / "report.html"
    for page in (old, new):
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<p>night</p>")
    assert not serve_like(new, old), "the old page was never published: nobody to serve the new one to"
    publishers_folder(root, "runs/2099-01-03/report.html").mkdir(parents=True)
    (publishers_folder(root, "runs/2099-01-03/report.html") / "nightly_sector_report").touch()
    assert serve_like(new, old)
    assert publishers(root, "revisions/2099-01-03/r1/report.html") == {"nightly_sector_report"}
    assert client.get("/revisions/2099-01-03/r1/report.html", headers=token(auth_manager, "admin")).status_code == 200
    assert not serve_like(Path("/elsewhere/report.html"), old), "outside the viewer's root"


def test_serving_a_page_lets_the_dags_readers_see_it_and_links_no_report(client, auth_manager) -> None:
    """A preview (a held night's staged report) is served to the DAG's readers, and is no run's "Report"."""
    root = reports_root().resolve()
    page = root / "runs/2099-01-04/report.held.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("<html><body>held</body></html>")
    pushed: list[object] = []
    ti = SimpleNamespace(dag_id="nightly_sector_report", xcom_push=lambda **kwargs: pushed.append(kwargs))
    assert serve_pages({"ti": ti}, page, Path("/elsewhere/page.html")) == [
        "/reports/runs/2099-01-04/report.held.html",
        None,
    ]
    assert publishers(root, "runs/2099-01-04/report.held.html") == {"nightly_sector_report"}
    assert pushed == [], "no Report button or tab"
