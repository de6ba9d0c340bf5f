"""The hot-issues desk lists the groups of the recent days with their requests, refuses a
span it does not offer, and is for supervisors, analysts and admins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock

from factories import World, make_request


def test_hot_issues_on_the_desk(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    for i, text in enumerate(
        [
            "金宝街小区烧烤店油烟扰民严重",
            "金宝街小区烧烤油烟很大晚上开不了窗",
            "金宝街小区烧烤店油烟直排",
        ]
    ):
        make_request(session, web_world, clock.now() - timedelta(days=i), text=text)
    for other in ("路灯坏了", "咨询入学材料", "井盖丢失很危险", "垃圾清运不及时", "拖欠工资"):
        make_request(session, web_world, clock.now(), text=other, area="110101008")
    session.commit()
    an = browser("analyst")
    page = an.client.get("/desk/hot?days=7")
    assert page.status_code == 200
    assert 'id="hot-1"' in page.text and "油烟" in page.text.split('id="hot-1"')[1][:200]
    assert an.client.get("/desk/hot?days=5").status_code == 422
    assert browser("h1").client.get("/desk/hot").status_code == 403
