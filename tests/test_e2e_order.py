"""End to end: a corpus fed in date pieces gives the warehouse that one run over all of it gives.

Inside a run, articles are processed in publication order, so the canonical copy of a cluster is its
earliest published member whether the cluster arrives in one run or split over runs in date order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.warehouse_state import query, state

pytestmark = pytest.mark.e2e

STORIES = {
    "budget": [
        "أعلنت وزارة المالية صباح الثلاثاء عن مشروع الموازنة العامة للعام المقبل بعجز أقل من المتوقع.",
        "وقال الوزير في مؤتمر صحفي إن الإيرادات النفطية ارتفعت بنسبة كبيرة خلال الربع الأخير من العام.",
        "وأضاف أن الحكومة ستخصص جزءا من الفائض لدعم مشاريع البنية التحتية في المحافظات الجنوبية.",
        "وأشار إلى أن الإنفاق على التعليم والصحة سيزداد مقارنة بالموازنة السابقة رغم الضغوط المالية.",
        "ومن المنتظر أن يناقش مجلس النواب المشروع خلال جلساته المقبلة قبل إقراره بشكل نهائي.",
    ],
    "festival": [
        "افتتح مهرجان المسرح العربي دورته الجديدة مساء الخميس بحضور عدد كبير من الفنانين والنقاد.",
        "ويشارك في المسابقة الرسمية هذا العام ثمانية عروض من سبع دول عربية مختلفة.",
        "وقالت إدارة المهرجان إن لجنة التحكيم ستعلن أسماء الفائزين في حفل الختام الأسبوع المقبل.",
        "كما تتضمن الدورة ندوات فكرية وورش عمل للشباب حول الكتابة المسرحية والإخراج.",
        "ويكرم المهرجان في هذه الدورة عددا من رواد المسرح الذين أثروا الحركة الفنية لعقود.",
    ],
    "match": [
        "فاز المنتخب الوطني لكرة القدم على نظيره بهدفين مقابل هدف في المباراة الودية التي أقيمت مساء السبت.",
        "وسجل المهاجم الشاب الهدف الأول في الدقيقة العشرين بعد تمريرة متقنة من وسط الملعب.",
        "وعادل الفريق الضيف النتيجة قبل نهاية الشوط الأول من ركلة جزاء مثيرة للجدل.",
        "وفي الشوط الثاني أحرز قائد المنتخب هدف الفوز بتسديدة قوية من خارج منطقة الجزاء.",
        "ويستعد المنتخب لخوض مباراتين رسميتين في التصفيات القارية خلال الشهر المقبل.",
    ],
    "rain": [
        "توقعت هيئة الأرصاد الجوية هطول أمطار غزيرة على المناطق الشمالية خلال الأيام الثلاثة المقبلة.",
        "ودعت الهيئة المواطنين إلى توخي الحذر أثناء القيادة وتجنب الأودية ومجاري السيول.",
        "وأوضحت أن درجات الحرارة ستنخفض بشكل ملحوظ مع نشاط الرياح الباردة القادمة من الشمال.",
        "وأعلنت السلطات المحلية رفع درجة الاستعداد في فرق الدفاع المدني تحسبا لأي طارئ.",
        "وتأتي هذه الموجة بعد أسابيع من الجفاف أثرت على المحاصيل الزراعية في عدة مناطق.",
    ],
}
# Near copy of "budget": one word changed (exact Jaccard of the word 5-gram sets about 0.9).
NEAR_BUDGET = [line.replace("الجنوبية", "الشمالية") for line in STORIES["budget"]]

# path -> (outlet, story, day of May 2018). In each pair the earlier-dated member has the larger path,
# so path order and publication order disagree.
ARTICLES = {
    "a_outlet/budget.txt": ("a-news", STORIES["budget"], 3),
    "z_outlet/budget.txt": ("z-news", NEAR_BUDGET, 1),  # near pair: canonical is this one
    "b_outlet/festival.txt": ("b-news", STORIES["festival"], 4),
    "y_outlet/festival.txt": ("y-news", STORIES["festival"], 2),  # exact pair: canonical is this one
    "c_outlet/match.txt": ("c-news", STORIES["match"], 3),
    "d_outlet/rain.txt": ("d-news", STORIES["rain"], 1),
}


def trec(path: str, outlet: str, lines: list[str], day: int) -> str:
    docno = f"{outlet}-{Path(path).stem}-201805{day:02d}"
    return (
        f"<DOC>\n<DOCNO>{docno}</DOCNO>\n<URL>https://{outlet}.example/{docno}</URL>\n<SRC>{outlet}</SRC>\n"
        f"<CAT>news</CAT>\n<TITLE>{lines[0][:40]}</TITLE>\n<TIME>Tue, {day:02d} May 2018 10:00:00 +0000</TIME>\n"
        f"<AUTHOR></AUTHOR>\n<ABSTRACT>\n{lines[0]}\n</ABSTRACT>\n<TEXT>\n" + "\n".join(lines) + "\n</TEXT>\n</DOC>\n"
    )


def write(input_dir: Path, paths: list[str]) -> None:
    for path in paths:
        outlet, lines, day = ARTICLES[path]
        target = input_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(trec(path, outlet, lines, day), encoding="utf-8")


def ingest(input_dir: Path, warehouse: Path, **kwargs):
    from flows.ingest import ingest as ingest_flow

    summary = ingest_flow(str(input_dir), str(warehouse), **kwargs)
    assert summary.status == "completed"
    return summary


def test_date_pieces_give_what_one_run_gives(prefect_api_url, tmp_path):
    early = [p for p, (_, _, day) in ARTICLES.items() if day <= 2]
    late = [p for p in ARTICLES if p not in early]
    assert early and late

    whole_in, whole_wh = tmp_path / "whole_in", tmp_path / "whole_wh"
    write(whole_in, list(ARTICLES))
    ingest(whole_in, whole_wh, batch_size=2)  # several batches inside the one run, too

    pieces_in, pieces_wh = tmp_path / "pieces_in", tmp_path / "pieces_wh"
    write(pieces_in, early)
    ingest(pieces_in, pieces_wh)
    write(pieces_in, late)
    ingest(pieces_in, pieces_wh)

    duplicates = query(whole_wh, "SELECT source_path, duplicate_of, kind FROM duplicates ORDER BY source_path")
    ids = dict(query(whole_wh, "SELECT source_path, article_id FROM articles").iter_rows())
    assert sorted(ids) == ["c_outlet/match.txt", "d_outlet/rain.txt", "y_outlet/festival.txt", "z_outlet/budget.txt"]
    assert duplicates.rows() == [
        ("a_outlet/budget.txt", ids["z_outlet/budget.txt"], "near"),
        ("b_outlet/festival.txt", ids["y_outlet/festival.txt"], "exact"),
    ]
    assert state(pieces_wh) == state(whole_wh)
