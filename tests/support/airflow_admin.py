"""One admin user for the tests that start a real api-server: its settings and its API token."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

PASSWORD = "test-admin-password"


def admin_env(folder: Path) -> dict[str, str]:
    """Airflow settings for a simple-auth-manager admin whose password is PASSWORD."""
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret",
    }


def admin_token(base_url: str, password: str = PASSWORD) -> str:
    request = urllib.request.Request(
        f"{base_url}/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]
