"""Accounts on the dashboard: only admins see and use them; new passwords are
made by the server and shown once; disabling ends access; an admin cannot
lock themself out."""

from __future__ import annotations

import re

from conftest import SignIn
from webkit import PASSWORD, Site


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def shown_password(html: str) -> str:
    found = re.search(r'<p class="password"><code>([^<]+)</code>', html)
    assert found, "no password shown"
    return found.group(1)


def test_only_admins_see_and_use_the_accounts_page(sign_in: SignIn) -> None:
    for role in ("viewer", "publisher"):
        client = sign_in(role)
        assert client.get("/admin/users").status_code == 403
        assert 'href="/admin/users"' not in client.get("/").text
        r = client.post("/admin/users", data={"csrf": csrf_of(client.get("/").text),
                                              "name": "mallory", "role": "admin"})  # fmt: skip
        assert r.status_code == 403
    admin = sign_in("admin")
    page = admin.get("/admin/users").text
    assert 'href="/admin/users"' in page
    assert re.findall(r'data-user="([^"]+)"', page) == ["admin", "publisher", "viewer"]
    assert "Tài khoản người dùng" in page


def test_an_admin_adds_a_user_who_signs_in_with_the_password_shown_once(
    sign_in: SignIn,
) -> None:
    admin = sign_in("admin")
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users", data={"csrf": token, "name": " Guard2 ", "role": "viewer"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    password = shown_password(r.text)
    assert "Đã tạo tài khoản guard2" in r.text and "chỉ hiện một lần" in r.text
    assert password not in admin.get("/admin/users").text  # shown once
    guard = sign_in()
    ok = guard.post("/login", data={"name": "guard2", "password": password, "next": "/"})
    assert ok.status_code == 303
    assert guard.get("/admin/users").status_code == 403  # a viewer
    again = admin.post("/admin/users", data={"csrf": token, "name": "guard2", "role": "admin"})
    assert again.status_code == 400 and "Đã có tài khoản guard2" in again.text
    bad = admin.post("/admin/users", data={"csrf": token, "name": "Nguyễn Văn A", "role": "viewer"})
    assert bad.status_code == 400 and "chữ thường không dấu" in bad.text
    assert 'value="nguyễn văn a"' in bad.text  # what was typed stays
    assert (
        admin.post(
            "/admin/users", data={"csrf": "forged", "name": "x", "role": "viewer"}
        ).status_code
        == 403
    )


def test_roles_passwords_and_disabling(sign_in: SignIn) -> None:
    admin = sign_in("admin")
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/viewer/role", data={"csrf": token, "role": "publisher"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=role"
    assert "Đã đổi quyền." in admin.get(r.headers["location"]).text
    promoted = sign_in("viewer")
    assert promoted.get("/notices").status_code == 200  # now a publisher
    r = admin.post("/admin/users/viewer/password", data={"csrf": token})
    fresh = shown_password(r.text)
    assert "Mật khẩu mới của viewer" in r.text
    assert promoted.get("/").status_code == 303  # the old session ended
    stranger = sign_in()
    old = stranger.post("/login", data={"name": "viewer", "password": PASSWORD, "next": "/"})
    assert old.status_code == 401
    new = stranger.post("/login", data={"name": "viewer", "password": fresh, "next": "/"})
    assert new.status_code == 303
    r = admin.post("/admin/users/viewer/disable", data={"csrf": token})
    assert r.status_code == 303 and stranger.get("/").status_code == 303  # signed out
    assert "đã khóa lúc" in admin.get("/admin/users").text
    late = sign_in()
    assert late.post("/login", data={"name": "viewer", "password": fresh}).status_code == 401
    admin.post("/admin/users/viewer/enable", data={"csrf": token})
    assert late.post("/login", data={"name": "viewer", "password": fresh}).status_code == 303


def test_an_admin_cannot_lock_themself_out(sign_in: SignIn) -> None:
    admin = sign_in("admin")
    page = admin.get("/admin/users").text
    token = csrf_of(page)
    assert 'action="/admin/users/admin/disable"' not in page
    for path, data in (("disable", {}), ("role", {"role": "viewer"})):
        r = admin.post(f"/admin/users/admin/{path}", data={"csrf": token, **data})
        assert r.status_code == 400 and "chính mình" in r.text
    assert admin.get("/admin/users").status_code == 200  # still an admin
    r = admin.post("/admin/users/ghost/disable", data={"csrf": token})
    assert r.status_code == 404 and "Không có tài khoản “ghost”" in r.text


def test_an_admin_revokes_a_kiosk_after_confirming(sign_in: SignIn, site: Site) -> None:
    from sqlalchemy import select

    from server.store.schema import kiosks

    publisher = sign_in("publisher")
    assert "Thu hồi kiosk…" not in publisher.get("/kiosks/lb-02").text
    r = publisher.post("/kiosks/lb-02/revoke", data={"csrf": csrf_of(publisher.get("/").text)})
    assert r.status_code == 403
    admin = sign_in("admin")
    page = admin.get("/kiosks/lb-02").text
    assert "Thu hồi kiosk…" in page
    token = csrf_of(page)
    ask = admin.post("/kiosks/lb-02/revoke", data={"csrf": token})
    assert ask.status_code == 200 and "Thu hồi kiosk lb-02?" in ask.text
    assert 'name="confirmed" value="yes"' in ask.text
    with site.store.engine.connect() as conn:
        assert (
            conn.execute(select(kiosks.c.revoked_at).where(kiosks.c.id == "lb-02")).scalar() is None
        )
    done = admin.post("/kiosks/lb-02/revoke", data={"csrf": token, "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"].startswith("/?revoked=lb-02")
    overview = admin.get(done.headers["location"]).text
    assert "Đã thu hồi kiosk lb-02." in overview
    assert 'data-kiosk="lb-02"' not in overview  # gone from the fleet
    with site.store.engine.connect() as conn:
        assert conn.execute(select(kiosks.c.revoked_at).where(kiosks.c.id == "lb-02")).scalar()
    assert admin.post("/kiosks/lb-02/revoke", data={"csrf": token}).status_code == 404


def test_an_admin_enrols_a_kiosk_and_downloads_its_bundle(sign_in: SignIn, site: Site) -> None:
    import io
    import tomllib
    import zipfile

    from server.broker.registry import KioskRegistry

    viewer = sign_in("viewer")
    assert viewer.get("/admin/kiosks/new").status_code == 403
    admin = sign_in("admin")
    form = admin.get("/admin/kiosks/new").text
    assert "Đăng ký kiosk mới" in form and '<option value="lao-bao">' in form
    token = csrf_of(form)
    data = {"csrf": token, "id": "LB-09", "gate": "lao-bao", "groups": "quang-tri, north"}
    r = admin.post("/admin/kiosks/new", data=data)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert 'filename="bgk-bundle-lb-09.zip"' in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "no-store"
    bundle = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(bundle.namelist())
    assert {"lb-09/kiosk.toml", "lb-09/root.json", "lb-09/mqtt-ca.crt"} <= names
    toml = tomllib.loads(bundle.read("lb-09/kiosk.toml").decode())
    assert toml["kiosk"]["id"] == "lb-09" and sorted(toml["kiosk"]["groups"]) == [
        "north",
        "quang-tri",
    ]
    assert toml["mqtt"]["username"] == "lb-09" and len(toml["mqtt"]["password"]) >= 20
    record = KioskRegistry(site.store).get("lb-09")
    assert record is not None and record.active and record.gate == "lao-bao"
    again = admin.post("/admin/kiosks/new", data=data)
    assert again.status_code == 400 and "Kiosk lb-09 đã được đăng ký" in again.text
    assert 'value="quang-tri, north"' in again.text  # what was typed stays
    renewed = admin.post("/admin/kiosks/new", data={**data, "replace": "yes"})
    password = tomllib.loads(
        zipfile.ZipFile(io.BytesIO(renewed.content)).read("lb-09/kiosk.toml").decode()
    )["mqtt"]["password"]
    assert renewed.status_code == 200 and password != toml["mqtt"]["password"]
    bad = admin.post("/admin/kiosks/new", data={**data, "id": "lb 10/.."})
    assert bad.status_code == 400 and "Mã kiosk “lb 10/..” không hợp lệ" in bad.text
    assert KioskRegistry(site.store).get("lb 10/..") is None
