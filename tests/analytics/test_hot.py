"""Hot issues of the city's own requests: callers about one problem at one street within days
form a group; the same words at another street or long before do not join it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from jiesu.analytics.hot import hot_issues
from jiesu.intake.schemas import ContactIn
from jiesu.kit.clock import FixedClock

from factories import make_request, make_world

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
BACKGROUND = [
    "小区停水一整天了，没有任何通知",
    "路灯坏了好几天，晚上出行不安全",
    "公交站台的广告牌松动，担心掉下来",
    "单位拖欠工资三个月，要求帮助讨薪",
    "咨询孩子入学需要准备哪些材料",
    "楼道里堆满杂物，存在消防隐患",
    "共享单车乱停乱放堵住人行道",
    "医保报销比例是多少，异地就医怎么备案",
    "暖气不热，室温只有十五度",
    "马路上有一个井盖丢失，非常危险",
    "物业不作为，电梯经常坏",
    "菜市场附近占道经营严重",
    "夜间施工噪音很大影响休息",
    "垃圾清运不及时，气味难闻",
    "出租车拒载，司机态度恶劣",
    "咨询公积金提取的流程",
]


def test_one_problem_at_one_street_is_one_hot_issue(session: Session) -> None:
    clock = FixedClock(T0)
    world = make_world(session, clock.now())
    texts = [
        "东华门街道金宝街小区楼下烧烤店油烟太大，晚上熏得开不了窗",
        "金宝街小区一楼烧烤油烟扰民，每天晚上都是油烟味",
        "反映金宝街小区烧烤店油烟问题，油烟直排，影响居民",
        "金宝街小区烧烤油烟还是没有解决，晚上油烟很大",
    ]
    for i, text in enumerate(texts):
        clock.set(T0 + timedelta(days=i))
        # The last call is the first caller again: four requests, three callers.
        phone = f"1380013800{i if i < 3 else 0}"
        make_request(
            session, world, clock.now(), text=text, area="110101001",
            contact=ContactIn(name="王", phone=phone),
        )  # fmt: skip
    # The same words at another street, and the week's other, unrelated requests: in a real
    # stream most requests are about something else, which is what makes words telling.
    make_request(session, world, clock.now(), text=texts[1], area="110101008")
    for i, other in enumerate(BACKGROUND):
        area = ("110101001", "110101008")[i % 2]
        make_request(session, world, clock.now(), text=other, area=area)
    session.commit()
    found = hot_issues(session, end=T0 + timedelta(days=5), days=7)
    assert found["requests"] == 5 + len(BACKGROUND)
    (group,) = found["groups"]
    assert group["size"] == 4 and group["components"]["callers"] == 3
    assert group["title"].startswith("东华门街道") and "油烟" in group["title"]
    # A week later nothing of it is in the window.
    assert hot_issues(session, end=T0 + timedelta(days=20), days=7)["groups"] == []
