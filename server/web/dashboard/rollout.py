"""The packs page's rollout progress: for each published version, kiosks on it
now per gate, and a small chart of kiosks on it over time (server-side SVG,
no script) with the same counts as a table. The facts: server.fleet.rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.fleet.rollout import Point, Rollout, percent, rollout_of
from server.fleet.view import KioskView, local_time
from server.store import Store

#: versions of the packs page with a rollout section (newest first)
MAX_ROLLOUTS = 6
#: the chart's box (SVG user units; it scales to the page's width)
WIDTH, HEIGHT = 640, 170
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 12, 30


@dataclass(frozen=True)
class Row:
    """One point of the curve as the table shows it."""

    at: str
    after: str
    on: int
    percent: int


def after_text(seconds: float, t: Any) -> str:
    """'+5 phút' / '+6 phút 40 giây' (under 10 min) / '+2 giờ' / '+3 ngày' (rounded down)."""
    s = max(0, int(seconds))
    if s < 3600:
        if s % 60 and s < 600:
            return str(t("packs.rollout.after_min_s", n=s // 60, s=s % 60))
        return str(t("packs.rollout.after_min", n=s // 60))
    if s < 86400:
        hours, rest = divmod(s, 3600)
        if rest >= 60:
            return str(t("packs.rollout.after_h_min", n=hours, m=rest // 60))
        return str(t("packs.rollout.after_h", n=hours))
    return str(t("packs.rollout.after_d", n=s // 86400))


def chart(r: Rollout, t: Any) -> dict[str, Any] | None:
    """Coordinates of the SVG chart (None without a curve)."""
    if r.since is None or len(r.points) < 2:
        return None
    since, end = r.points[0].at, r.points[-1].at
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(r.audience, max(p.on for p in r.points), 1)

    def x(at: float) -> float:
        return round(LEFT + (at - since) / max(end - since, 1.0) * plot_w, 1)

    def y(on: int) -> float:
        return round(TOP + plot_h - on / top * plot_h, 1)

    line: list[str] = []
    for i, p in enumerate(r.points):  # a staircase: counts hold until the next point
        if i:
            line.append(f"{x(p.at)},{y(r.points[i - 1].on)}")
        line.append(f"{x(p.at)},{y(p.on)}")
    middle = r.points[len(r.points) // 2]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "line": " ".join(line),
        "area": f"{x(since)},{y(0)} " + " ".join(line) + f" {x(end)},{y(0)}",
        "y_ticks": [{"y": y(n), "label": str(n)} for n in sorted({0, top // 2, top})],
        "x_ticks": [
            {"x": x(p.at), "label": after_text(p.at - since, t), "anchor": anchor}
            for p, anchor in ((r.points[0], "start"), (middle, "middle"), (r.points[-1], "end"))
        ],
        "target_y": y(r.audience),
    }


def table(r: Rollout, t: Any) -> list[Row]:
    since = r.points[0].at if r.points else 0.0
    return [_row(p, since, r.audience, t) for p in r.points]


def _row(p: Point, since: float, audience: int, t: Any) -> Row:
    return Row(local_time(p.at) or "", after_text(p.at - since, t), p.on, percent(p.on, audience))


def rollout_context(
    store: Store, views: list[KioskView], item: dict[str, Any], now: float, t: Any
) -> dict[str, Any]:
    """What packs.html shows of one published version's rollout."""
    r = rollout_of(
        store, views, item["pack"], int(item["version"]), item["to"], now, item.get("published", "")
    )
    return {
        "r": r,
        "since": local_time(r.since) if r.since is not None else "",
        "chart": chart(r, t),
        "rows": table(r, t),
    }
