"""The dashboard's audit page: admins only; what the dashboard itself did is
there, with who did it; a row edited in the database turns the page red and
names the entry."""

from __future__ import annotations

import re

from conftest import SignIn
from sqlalchemy import update
from test_admin import csrf_of
from webkit import Site

from server.store.schema import audit_log


def test_only_admins_see_the_audit_page(sign_in: SignIn) -> None:
    for role in ("viewer", "publisher"):
        client = sign_in(role)
        assert client.get("/admin/audit").status_code == 403
        assert 'href="/admin/audit"' not in client.get("/").text
    admin = sign_in("admin")
    assert 'href="/admin/audit"' in admin.get("/").text
    assert admin.get("/admin/audit").status_code == 200


def test_dashboard_actions_are_on_the_page_and_tampering_turns_it_red(
    sign_in: SignIn, site: Site
) -> None:
    admin = sign_in("admin")
    token = csrf_of(admin.get("/admin/users").text)
    made = admin.post("/admin/users", data={"csrf": token, "name": "lan", "role": "viewer"})
    assert made.status_code == 200
    done = admin.post("/admin/users/lan/role", data={"csrf": token, "role": "publisher"})
    assert done.status_code == 303
    page = admin.get("/admin/audit").text
    assert "Nhật ký nguyên vẹn" in page
    rows = re.findall(r'<tr class="audit-row" data-seq="(\d+)">(.*?)</tr>', page, re.S)
    texts = {seq: re.sub(r"<[^>]+>", " ", body) for seq, body in rows}
    role_row = next(t for t in texts.values() if "account.role" in t)
    assert "admin" in role_row and "user:lan" in role_row and "was: viewer" in role_row
    mine = admin.get("/admin/audit", params={"actor": "admin"}).text
    assert "account.added" in mine and "user:lan" in mine
    nobody = admin.get("/admin/audit", params={"actor": "nobody"}).text
    assert "Không có mục nào phù hợp" in nobody
    bad = admin.get("/admin/audit", params={"since": "2026-13-45"})
    assert bad.status_code == 400 and "ngày/tháng/năm" in bad.text
    english = admin.get("/admin/audit", params={"lang": "en"}).text
    assert "Log intact" in english
    first = min(int(s) for s in texts)
    with site.store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == first).values(actor="someone"))
    red = admin.get("/admin/audit").text
    assert f"THE LOG WAS CHANGED from entry #{first}" in red  # (English: chosen above)
    red_vi = admin.get("/admin/audit", params={"lang": "vi"}).text
    assert f"NHẬT KÝ ĐÃ BỊ THAY ĐỔI từ mục #{first}" in red_vi
