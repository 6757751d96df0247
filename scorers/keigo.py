"""The keigo analyzer: which 丁寧語/尊敬語/謙譲語 forms a sentence uses, and which errors it makes.

Rules read fugashi/unidic-lite morphemes (lemmas such as 仰る, 為さる, 致す; the お/ご prefix
御; cType/cForm for conjugation) plus a few surface patterns where morphology cannot see the
error (バイト敬語, 宛名). Error types are the design's fixed vocabulary (ERROR_TYPES).

What it does not do: know who the listener is. Errors that depend on the addressee (身内敬語,
ご苦労様, 了解しました) are flagged only when the sentence itself names the relationship
(弊社の…, 部長、…). The accepted traps of reference/keigo.md are not flagged: お召し上がりになる,
お見えになる, お伺いする, ご持参ください, ご用意できます (speaker acts), 書ける/帰れる, 食べさせる,
動かさせる, おられる (contested, so left alone).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from scorers.morph import Morpheme, analyze

ERROR_TYPES = (
    "double_keigo",
    "sonkei_kenjou_mix",
    "ra_nuki",
    "sa_ire",
    "baito_keigo",
    "sasete_itadaku",
    "addressing",
)

# 尊敬語 verbs by lemma (UniDic writes おっしゃる as 仰る, なさる as 為さる, くださる as 下さる).
SONKEI_VERBS = {
    "いらっしゃる": "いる/行く/来る",
    "仰る": "言う",
    "召し上がる": "食べる/飲む",
    "為さる": "する",
    "下さる": "くれる",
    "召す": "着る/買う",
}
# 謙譲語 (I and II) verbs by lemma, with the 尊敬語 to use when the other side acts.
KENJOU_VERBS = {
    "伺う": "お聞きになる/いらっしゃる",
    "申す": "おっしゃる",
    "申し上げる": "おっしゃる",
    "参る": "いらっしゃる",
    "致す": "なさる",
    "差し上げる": "くださる",
    "頂く": "召し上がる/お受け取りになる",
    "存ずる": "ご存じだ",
    "存じ上げる": "ご存じだ",
    "承る": "お聞きになる",
    "賜わる": "くださる",
    "頂戴": "お受け取りになる",
}
HAI_NOUNS = {
    "拝見": "ご覧になる",
    "拝借": "お借りになる",
    "拝読": "お読みになる",
    "拝聴": "お聞きになる",
    "拝受": "お受け取りになる",
    "拝察": "お察しになる",
}
# Acts the customer performs: ご〜できます is then 謙譲語 used for the customer.
CUSTOMER_ACTS = {
    "利用",
    "使用",
    "購入",
    "乗車",
    "入場",
    "参加",
    "応募",
    "入会",
    "来店",
    "来場",
    "宿泊",
    "試着",
    "試食",
    "持ち帰り",
    "記入",
    "申し込み",
    "申込み",
    "申込",
    "選び",
    "求め",
    "予約",
    "注文",
    "入館",
    "入室",
    "登録",
    "加入",
    "支払い",
    "支払",
    "受け取り",
    "受取",
    "返却",
    "出席",
    "観覧",
    "視聴",
    "閲覧",
    "乗り換え",
    "確かめ",
    "試し",
    "買い上げ",
    "買い求め",
    "相談",
    "見積もり",
    "問い合わせ",
    "問合せ",
}
# ご〜してください is right when asking a colleague to act toward a customer (ご案内してください).
SPEAKER_SIDE_ACTS = {"案内", "連絡", "説明", "紹介", "報告", "届け", "送付", "返事", "用意", "手配", "準備"}
# Words whose ご is part of the word, not an honorific operation: ごちそうしていただく is correct.
LEXICAL_GO = {"馳走", "無沙汰"}
# One-sided announcements: させていただく asks a permission nobody gives.
ANNOUNCE_ACTS = {
    "休業",
    "閉店",
    "閉館",
    "休館",
    "休診",
    "休園",
    "終了",
    "改定",
    "値上げ",
    "値上",
    "中止",
    "延期",
    "休止",
    "結婚",
    "受賞",
    "卒業",
    "入社",
    "退職",
    "出産",
    "移転",
    "開店",
    "開業",
    "発売",
    "優勝",
    "合格",
    "就任",
    "昇進",
    "入籍",
    "閉園",
    "廃止",
    "撤退",
    "退会",
    "閉鎖",
    "欠航",
    "運休",
    # self-reported past facts: nobody's permission was involved
    "創業",
    "設立",
    "創立",
    "専攻",
    "入学",
    "退院",
    "帰国",
}
ANNOUNCE_VERBS = {"思う", "存ずる", "考える", "申す", "名乗る", "感じる", "願う"}
# States of mind need nobody's permission (確信させていただく); お願い is humble already.
STATE_NOUNS = {"確信", "期待", "希望", "安心", "感謝", "お願い"}
# Transitive verbs in -かす/-らす/-ます... that are words of their own, not さ入れ (動かさせる is right).
LEXICAL_ASU = {
    "動かす",
    "乾かす",
    "驚かす",
    "散らかす",
    "生かす",
    "活かす",
    "沸かす",
    "溶かす",
    "負かす",
    "明かす",
    "脅かす",
    "甘やかす",
    "冷やかす",
    "逃がす",
    "転がす",
    "焦がす",
    "減らす",
    "鳴らす",
    "慣らす",
    "濡らす",
    "漏らす",
    "散らす",
    "照らす",
    "晴らす",
    "揺らす",
    "垂らす",
    "凝らす",
    "巡らす",
    "暮らす",
    "枯らす",
    "ずらす",
    "反らす",
    "逸らす",
    "荒らす",
    "済ます",
    "澄ます",
    "覚ます",
    "冷ます",
    "悩ます",
    "励ます",
    "交わす",
    "惑わす",
    "紛らわす",
    "煩わす",
    "遣わす",
    "賑わす",
    "冷やす",
    "生やす",
    "燃やす",
    "肥やす",
    "費やす",
    "増やす",
    "耕す",
    "果たす",
    "満たす",
    "騙す",
    "化かす",
    "ぼかす",
    "すかす",
    "はぐらかす",
    "ひけらかす",
    "ちらかす",
    "寝かす",
    "泣かす",
    "笑わす",
    "飛ばす",
    "伸ばす",
    "延ばす",
    "遊ばす",
    "浮かす",
    "鳴かす",
    "曇らす",
    "尖らす",
    "光らす",
    "肥らす",
    "太らす",
    "湿らす",
    "凍らす",
    "腐らす",
    "黙らす",
    "困らす",
    "降らす",
    "回らす",
    "しならす",
    "唸らす",
    "蒸らす",
    "張らす",
    "撓らす",
}
SUPERIOR = re.compile(
    r"(社長|副社長|部長|課長|係長|専務|常務|会長|次長|主任|支店長|所長|工場長|取締役|室長|店長|"
    r"院長|校長|教授|先生|お客様|お客さま|様|御社|貴社|先輩)"
)
TITLES = (
    r"(?:副社長|社長|部長|課長|係長|専務|常務|会長|次長|主任|支店長|所長|工場長|取締役|室長|店長|院長|校長|教授|先生)"
)
_PAST = re.compile(r"(昨日|先日|先ほど|先程|前回|以前|当時|さっき|去年|昨年|先週|先月)")
_IRREGULAR_I = {"いらっしゃる", "おっしゃる", "仰る", "なさる", "為さる", "くださる", "下さる", "ござる"}


@dataclass(frozen=True)
class KeigoError:
    type: str
    span: str
    message: str
    suggestion: str
    start: int
    end: int


@dataclass
class KeigoAnalysis:
    text: str
    polite: bool
    sonkeigo: list[str] = field(default_factory=list)
    kenjougo: list[str] = field(default_factory=list)
    teineigo: list[str] = field(default_factory=list)
    errors: list[KeigoError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The design's contract: {text, polite, sonkeigo, kenjougo, teineigo, errors[{type, span,
        message, suggestion}]} (start/end character offsets are added for tools)."""
        return {
            "text": self.text,
            "polite": self.polite,
            "sonkeigo": self.sonkeigo,
            "kenjougo": self.kenjougo,
            "teineigo": self.teineigo,
            "errors": [asdict(e) for e in self.errors],
        }


# ------------------------------------------------------------------ helpers
def _base(m: Morpheme) -> str:
    """Dictionary form as written in the text: おっしゃら -> おっしゃる (kana kept, unlike the lemma 仰る)."""
    return m.base or m.lemma


def conjugate(base: str, following: str | None) -> str:
    """A godan/ichidan verb's dictionary form joined to what followed the error: ます, た, て or nothing."""
    if not following:
        return base
    if base.endswith("る"):
        stem = base[:-1]
        if following.startswith(("ま", "ませ")):
            return stem + ("い" if base in _IRREGULAR_I else "り") + following
        if following.startswith(("た", "て", "だ", "で")):
            return stem + "っ" + following
    return base + following


def _is_ichidan(lemma: str) -> bool:
    return _ctype_of(lemma).startswith(("上一段", "下一段", "カ行変格"))


@lru_cache(maxsize=4096)
def _ctype_of(lemma: str) -> str:
    ms = [m for m in analyze(lemma) if m.pos1 == "動詞"]
    return ms[0].ctype if len(ms) == 1 else ""


def _span(ms: tuple[Morpheme, ...], i: int, j: int) -> tuple[int, int]:
    """Character range of morphemes i..j (inclusive)."""
    return ms[i].start, ms[j].start + len(ms[j].surface)


def _next(ms: tuple[Morpheme, ...], i: int) -> Morpheme | None:
    return ms[i + 1] if i + 1 < len(ms) else None


def _is_reru(m: Morpheme | None) -> bool:
    return m is not None and m.pos1 == "助動詞" and m.lemma in ("れる", "られる")


def _following_text(ms: tuple[Morpheme, ...], j: int) -> str:
    """ます/た/て right after position j (for a natural suggestion), else ''."""
    out = ""
    k = j + 1
    while k < len(ms) and ms[k].lemma in ("ます", "た", "て") and len(out) < 6:
        out += ms[k].surface
        k += 1
    return out


# ------------------------------------------------------------------ forms
_TEINEI_CTYPES = {"助動詞-マス", "助動詞-デス"}
_FORM_LEMMAS = {"御", "御覧", "居る", "御座る", *SONKEI_VERBS, *KENJOU_VERBS, *HAI_NOUNS}


def _forms(ms: tuple[Morpheme, ...]) -> tuple[list[str], list[str], list[str]]:
    """Dictionary forms of the 尊敬語, 謙譲語 and 丁寧語 used, each once, in order of appearance."""
    sonkei: list[str] = []
    kenjou: list[str] = []
    teinei: list[str] = []
    used: set[int] = set()
    n = len(ms)

    def add(lst: list[str], form: str, *idx: int) -> None:
        used.update(idx)
        if form not in lst:
            lst.append(form)

    for i, m in enumerate(ms):
        if m.lemma not in _FORM_LEMMAS and m.ctype not in _TEINEI_CTYPES:
            continue  # most tokens: nothing to look at
        nxt = ms[i + 1] if i + 1 < n else None
        if m.lemma == "御" and i + 1 < n:
            body = ms[i + 1]
            after = ms[i + 2 : i + 4]
            if body.lemma == "存ずる":
                add(sonkei, m.surface + body.surface, i, i + 1)
            elif len(after) == 2 and after[0].lemma == "に" and after[1].lemma == "成る":
                add(sonkei, f"{m.surface}{body.surface}になる", i, i + 1, i + 2, i + 3)
            elif after and after[0].lemma == "下さる":
                add(sonkei, f"{m.surface}{body.surface}ください", i, i + 1, i + 2)
            elif body.lemma == "目" and len(after) == 2 and after[1].lemma in ("掛かる", "かかる"):
                add(kenjou, "お目にかかる", i, i + 1, i + 2, i + 3)
            elif (
                after
                and after[0].lemma in ("為る", "致す", "申し上げる")
                and not (n > i + 4 and ms[i + 3].lemma == "て" and ms[i + 4].lemma in ("下さる", "頂く"))
            ):
                tail = {"為る": "する", "致す": "いたす", "申し上げる": "申し上げる"}[after[0].lemma]
                add(kenjou, f"{m.surface}{body.surface}{tail}", i, i + 1, i + 2)
            continue
        if i in used:
            continue
        if m.ctype in ("助動詞-マス", "助動詞-デス") or m.lemma == "御座る":
            add(teinei, _base(m), i)
        elif m.lemma in SONKEI_VERBS and m.pos1 == "動詞":
            add(sonkei, _base(m), i)
        elif m.lemma in KENJOU_VERBS and m.pos1 in ("動詞", "名詞"):
            add(kenjou, _base(m), i)
        elif m.lemma == "居る" and m.lform == "オル":
            add(kenjou, "おる", i)
        elif m.lemma in HAI_NOUNS and nxt is not None and nxt.lemma in ("為る", "致す"):
            add(kenjou, m.surface + ("する" if nxt.lemma == "為る" else "いたす"), i, i + 1)
        elif m.lemma == "御覧" and nxt is not None and nxt.lemma == "に":
            add(sonkei, "ご覧になる", i)
    return sonkei, kenjou, teinei


_REQUEST_FIX = {
    "伺う": "お尋ねください",
    "申す": "おっしゃってください",
    "参る": "いらしてください",
    "致す": "なさってください",
    "頂く": "召し上がってください",
    "拝見": "ご覧ください",
    "拝借": "お使いください",
    "拝読": "お読みください",
    "拝聴": "お聞きください",
}
_FINAL_PARTICLES = {"か", "ね", "よ", "な", "わ", "ぞ", "さ", "の", "が", "けど", "けれど", "けれども", "から", "ので"}


def is_polite(ms: tuple[Morpheme, ...]) -> bool:
    """The sentence's final predicate is polite (ます, です, でございます, ください, ませ)."""
    k = len(ms) - 1
    while k >= 0 and (
        ms[k].is_punct or not ms[k].surface.strip() or (ms[k].pos1 == "助詞" and ms[k].surface in _FINAL_PARTICLES)
    ):
        k -= 1
    while k >= 0 and ms[k].pos1 == "助動詞" and ms[k].lemma in ("た", "う", "ず", "ぬ", "ない"):
        k -= 1
    if k < 0:
        return False
    m = ms[k]
    return (
        m.ctype in ("助動詞-マス", "助動詞-デス")
        or m.lemma == "御座る"
        or (m.lemma == "下さる" and m.cform.startswith("命令形"))
        or m.surface in ("ませ", "まし")
    )


# ------------------------------------------------------------------ error rules
def _err(errors: list[KeigoError], text: str, etype: str, start: int, end: int, message: str, suggestion: str) -> None:
    if any(e.type == etype and e.start < end and start < e.end for e in errors):
        return  # one report per error
    errors.append(KeigoError(etype, text[start:end], message, suggestion, start, end))


_MIX_LEMMAS = {"御", "成る", *SONKEI_VERBS, *KENJOU_VERBS, *HAI_NOUNS}


def _double_and_mix(text: str, ms: tuple[Morpheme, ...], errors: list[KeigoError]) -> None:
    n = len(ms)
    for i, m in enumerate(ms):
        if m.lemma not in _MIX_LEMMAS:
            continue
        nxt = ms[i + 1] if i + 1 < n else None
        # 尊敬語 verb + れる/られる: おっしゃられる, 召し上がられる, なさられる
        if m.pos1 == "動詞" and m.lemma in SONKEI_VERBS and _is_reru(nxt):
            s, e = _span(ms, i, i + 1)
            base = _base(m)
            _err(
                errors,
                text,
                "double_keigo",
                s,
                e,
                f"「{base}」は尊敬語なので、さらに「れる/られる」を付けると二重敬語",
                conjugate(base, _following_text(ms, i + 1)),
            )
        # お/ご〜になる + れる: お越しになられる, ご覧になられる
        if m.lemma == "成る" and _is_reru(nxt) and i >= 2 and ms[i - 1].lemma == "に":
            j = i - 2
            while j >= 0 and ms[j].lemma != "御" and ms[j].lemma != "御覧" and i - j <= 4:
                j -= 1
            if j >= 0 and (ms[j].lemma in ("御", "御覧")) and not any(x.lemma == "社長" for x in ms[j:i]):
                s, e = _span(ms, j, i + 1)
                head = text[s : ms[i].start]
                follow = _following_text(ms, i + 1)
                _err(
                    errors,
                    text,
                    "double_keigo",
                    s,
                    e,
                    "「お/ご〜になる」にさらに「れる/られる」を重ねた二重敬語",
                    head + conjugate("なる", follow),
                )
        # 謙譲語 + れる/られる: 申される, 参られる, いたされる, 伺われる, 拝見される
        if m.pos1 == "動詞" and m.lemma in ("申す", "参る", "致す", "伺う", "存じ上げる") and _is_reru(nxt):
            s, e = _span(ms, i, i + 1)
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                f"謙譲語「{_base(m)}」に尊敬の「れる/られる」を付けている（尊敬語と謙譲語の混同）",
                KENJOU_VERBS[m.lemma],
            )
        if m.lemma in HAI_NOUNS and nxt is not None and nxt.lemma == "為る" and _is_reru(_next(ms, i + 1)):
            s, e = _span(ms, i, i + 2)
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                f"謙譲語「{m.surface}する」に尊敬の「れる」を付けている",
                HAI_NOUNS[m.lemma],
            )
        # お伺いになる
        if (
            m.lemma == "御"
            and i + 3 < n
            and ms[i + 1].lemma in ("伺う", "申す")
            and ms[i + 2].lemma == "に"
            and ms[i + 3].lemma == "成る"
        ):
            s, e = _span(ms, i, i + 3)
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                f"謙譲語「{ms[i + 1].surface}」を尊敬の「お〜になる」に入れている",
                KENJOU_VERBS[ms[i + 1].lemma].split("/")[0],
            )
        # 謙譲語 + てください: 伺ってください, 申してください, 拝見してください
        if (m.pos1 == "動詞" and m.lemma in ("伺う", "申す", "参る", "致す", "頂く")) or m.lemma in HAI_NOUNS:
            k = i + 1
            if m.lemma in HAI_NOUNS:
                if not (nxt is not None and nxt.lemma in ("為る", "致す")):
                    continue
                k = i + 2
            if (
                k + 1 < n
                and ms[k].lemma == "て"
                and ms[k + 1].lemma == "下さる"
                and not (i > 0 and ms[i - 1].lemma == "御")
            ):
                s, e = _span(ms, i, k + 1)
                _err(
                    errors,
                    text,
                    "sonkei_kenjou_mix",
                    s,
                    e,
                    f"相手の動作に謙譲語「{_base(m) if m.pos1 == '動詞' else m.surface}」を使っている",
                    _REQUEST_FIX.get(m.lemma, "尊敬語＋ください"),
                )
        if m.lemma != "御" or i + 2 >= n:
            continue
        body, after = ms[i + 1], ms[i + 2]
        # ご利用できます (the customer acts)
        if after.lemma == "出来る" and (body.lemma in CUSTOMER_ACTS or body.surface in CUSTOMER_ACTS):
            s, e = _span(ms, i, i + 2)
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                "「ご〜できる」は謙譲語の可能形。相手の動作には使えない",
                f"{m.surface}{body.surface}いただけます / {m.surface}{body.surface}になれます",
            )
        # ご使用してください / ご記入していただけますか
        if (
            after.lemma == "為る"
            and i + 4 < n
            and ms[i + 3].lemma == "て"
            and ms[i + 4].lemma in ("下さる", "頂く")
            and body.surface not in SPEAKER_SIDE_ACTS
            and body.lemma not in LEXICAL_GO
        ):
            s, e = _span(ms, i, i + 4)
            tail = "ください" if ms[i + 4].lemma == "下さる" else "いただけますか"
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                "謙譲語「お/ご〜する」を相手の動作に使っている",
                f"{m.surface}{body.surface}{tail}",
            )
        # お求めやすい
        if body.pos1 == "動詞" and after.lemma in ("易い", "難い", "辛い") and after.pos1 in ("接尾辞", "形容詞"):
            s, e = _span(ms, i, i + 2)
            _err(
                errors,
                text,
                "sonkei_kenjou_mix",
                s,
                e,
                "「お〜やすい」は謙譲の形。尊敬は「お〜になりやすい」",
                f"{m.surface}{body.surface}になり{after.surface}",
            )


_OWN_SIDE = {"弊社", "当社", "小社", "私共", "わたくしども", "私ども", "うち"}


_QUESTION_TO_SUPERIOR = re.compile(
    r"^(?:" + r"(?:[一-龥]{1,4})?" + r"(?:社長|副社長|部長|課長|係長|専務|常務|会長|次長|"
    r"主任|支店長|所長|工場長|室長|店長|先生|お客様)、)"
)


def _surface_mix(text: str, ms: tuple[Morpheme, ...], errors: list[KeigoError]) -> None:
    """Patterns the tagger splits unhelpfully, and humble verbs in a question to a superior."""
    for m in re.finditer(r"なさ(?:ら)?れ", text):
        _err(
            errors,
            text,
            "double_keigo",
            m.start(),
            m.end(),
            "「なさる」は尊敬語なので「れる」は不要（二重敬語）",
            "なさ",
        )
    if _QUESTION_TO_SUPERIOR.search(text):
        for i, x in enumerate(ms):
            humble = x.lemma in ("参る", "申す", "伺う", "致す") or (x.lemma == "居る" and x.lform == "オル")
            if (
                x.pos1 == "動詞"
                and humble
                and i + 2 < len(ms)
                and ms[i + 1].surface == "ます"  # 参りますか asks; いたしましょうか offers
                and ms[i + 2].surface == "か"
            ):
                s0, e0 = _span(ms, i, i + 1)
                _err(
                    errors,
                    text,
                    "sonkei_kenjou_mix",
                    s0,
                    e0,
                    f"目上の相手の動作に謙譲語「{_base(x)}」を使っている",
                    KENJOU_VERBS.get(x.lemma, "いらっしゃる").split("/")[-1] + "（ます）",
                )
    # お客様が参ったら: a humble verb whose subject is the honored person (〜様が/は)
    for i, x in enumerate(ms):
        if x.surface in ("様", "さま") and i + 1 < len(ms) and ms[i + 1].surface in ("が", "は"):
            for k in range(i + 2, min(len(ms), i + 8)):
                y = ms[k]
                if (y.pos1 == "助詞" and y.surface in ("が", "は", "を")) or y.surface in ("、", "。"):
                    break
                humble = y.lemma in ("参る", "申す", "伺う", "致す", "申し上げる") or (
                    y.lemma == "居る" and y.lform == "オル"
                )
                if y.pos1 == "動詞" and humble:
                    _err(
                        errors,
                        text,
                        "sonkei_kenjou_mix",
                        y.start,
                        y.start + len(y.surface),
                        f"「様」と敬う相手の動作に謙譲語「{_base(y)}」を使っている",
                        KENJOU_VERBS.get(y.lemma, "いらっしゃる").split("/")[-1],
                    )
                    break


def _uchi_keigo(text: str, ms: tuple[Morpheme, ...], errors: list[KeigoError]) -> None:
    """弊社の社長がおっしゃっていました: honorifics for one's own side, when the sentence says so."""
    for i, m in enumerate(ms):
        if m.lemma not in _OWN_SIDE and m.surface not in _OWN_SIDE:
            continue
        subj = next(
            (
                k
                for k in range(i + 1, min(len(ms), i + 7))
                if ms[k].surface in ("が", "は", "も") and ms[k].pos1 == "助詞"
            ),
            None,
        )
        if subj is None:
            continue
        # 当社の田中が… names a person; 当社のウェブサイトでも… does not (a case particle intervenes).
        if any(x.pos1 == "助詞" and x.surface != "の" for x in ms[i + 1 : subj]):
            continue
        for k in range(subj + 1, len(ms)):
            x = ms[k]
            if (x.pos1 == "助詞" and x.surface in ("が", "は")) or (x.is_punct and x.surface in ("。", "！", "？")):
                break
            honor = x.pos1 == "動詞" and x.lemma in ("いらっしゃる", "仰る", "為さる", "召し上がる")
            oninaru = x.lemma == "御" and k + 3 < len(ms) and ms[k + 2].lemma == "に" and ms[k + 3].lemma == "成る"
            goran = x.lemma == "御覧" and k + 2 < len(ms) and ms[k + 1].lemma == "に" and ms[k + 2].lemma == "成る"
            gozonji = x.lemma == "御" and k + 1 < len(ms) and ms[k + 1].lemma == "存ずる"
            if honor or oninaru or goran or gozonji:
                end = k + 3 if oninaru else k + 2 if goran else k + 1 if gozonji else k
                s, e = _span(ms, k, end)
                sug = {
                    "いらっしゃる": "おります/参ります",
                    "仰る": "申しております",
                    "為さる": "いたします",
                    "召し上がる": "いただきます",
                    "御覧": "拝見する",
                }.get(x.lemma, "存じております" if gozonji else "お〜する（謙譲語）")
                _err(
                    errors,
                    text,
                    "sonkei_kenjou_mix",
                    s,
                    e,
                    "社外の人に自社の者の動作を尊敬語で述べている（身内敬語）",
                    sug,
                )
                break


def _ra_sa(text: str, ms: tuple[Morpheme, ...], errors: list[KeigoError]) -> None:
    for i, m in enumerate(ms):
        nxt = _next(ms, i)
        if m.pos1 != "動詞":
            continue
        # One-token ら抜き: 見れる / 来れる / 食べれる (lemma 見る, but written as a 下一段 れる verb)
        # The reading must be the lemma's stem + レ (ミル -> ミレ): 採れ (lemma 取れる) is not a ら抜き form.
        if (
            m.ctype == "下一段-ラ行"
            and m.lemma != _base(m)
            and m.lemma.endswith("る")
            and m.lform
            and (m.kana.startswith(m.lform[:-1] + "レ") or m.lemma == "来る")
            and _is_ichidan(m.lemma)
        ):
            stem_end = m.surface.find("れ", max(0, len(m.lemma) - 2))
            if stem_end > 0:
                s = m.start
                e = m.start + stem_end + 1
                _err(
                    errors,
                    text,
                    "ra_nuki",
                    s,
                    e,
                    f"「{m.lemma}」の可能形は「られる」（ら抜き言葉）",
                    text[s : e - 1] + "られ",
                )
                continue
        # 食べ + れる, 信じ + れる
        if (
            nxt is not None
            and nxt.pos1 == "助動詞"
            and nxt.lemma == "れる"
            and m.cform.startswith("未然形")
            and (
                m.ctype.startswith(("上一段", "下一段", "カ行変格"))
                or (m.ctype == "サ行変格" and m.surface.endswith("じ"))
            )
        ):
            s, e = m.start, nxt.start + 1
            _err(errors, text, "ra_nuki", s, e, "一段動詞の可能・受身は「られる」（ら抜き言葉）", m.surface + "られ")
            continue
        # 始めれます: UniDic reads a ら抜き potential of an ichidan verb as its 仮定形, which only ば can follow
        if (
            m.ctype.startswith(("上一段", "下一段"))
            and m.cform.startswith("仮定形")
            and m.surface.endswith("れ")
            and not (nxt is not None and nxt.surface in ("ば", "ど", "ども"))
        ):
            s, e = m.start, m.start + len(m.surface)
            _err(
                errors,
                text,
                "ra_nuki",
                s,
                e,
                f"「{m.base}」の可能形は「られる」（ら抜き言葉）",
                m.surface[:-1] + "られ",
            )
            continue
        # さ入れ: 読ま + させる (but 動か + させる is the causative of the verb 動かす)
        if (
            m.ctype.startswith("五段")
            and m.cform.startswith("未然形")
            and nxt is not None
            and nxt.lemma == "させる"
            and m.surface + "す" not in LEXICAL_ASU
        ):
            s, e = _span(ms, i, i + 1)
            _err(errors, text, "sa_ire", s, e, "五段動詞の使役は「せる」（さ入れ言葉）", m.surface + nxt.surface[1:])
            continue
        # さ入れ read by UniDic as 書かす + せる
        if (
            m.ctype == "五段-サ行"
            and m.surface.endswith("さ")
            and nxt is not None
            and nxt.lemma == "せる"
            and re.search(r"[かがさたなばまらわ]す$", m.lemma)
            and m.lemma not in LEXICAL_ASU
        ):
            s, e = _span(ms, i, i + 1)
            _err(errors, text, "sa_ire", s, e, "五段動詞の使役は「せる」（さ入れ言葉）", m.surface[:-1] + nxt.surface)


_BAITO = [
    (
        re.compile(r"(?:こちら|これ|そちら|お釣り|おつり|お会計|合計|お品物|ご注文の品)[^。！？]{0,25}?(になります)"),
        "物の提示に「〜になります」は誤用（バイト敬語）",
        "でございます",
    ),
    (
        re.compile(r"[0-9０-９千万百十]+円(になります)"),
        "金額の提示に「〜になります」は誤用（バイト敬語）",
        "でございます",
    ),
    (
        re.compile(r"(?:円|札|玉|ちょうど)(から)お預かり"),
        "「〜円からお預かりします」の「から」は不要（バイト敬語）",
        "（削除）",
    ),
    (
        re.compile(r"[おご][^\s。、のをはが]{1,8}(のほう)(?=[はをがもお、ご]|よろし)"),
        "「〜のほう」は不要なぼかし（バイト敬語）",
        "（削除）",
    ),
    (
        re.compile(r"(?:お返し|お戻し|お釣り|おつり|レシート|領収書)(になります)"),
        "物の提示に「〜になります」は誤用（バイト敬語）",
        "でございます",
    ),
    # Nのほうは + an honorific request or question (not a comparison: のほうが安い)
    (
        re.compile(r"(のほう(?:は|を)?)(?=、?(?:お|ご|いかが))"),
        "「〜のほう」は不要なぼかし（バイト敬語）",
        "は / を",
    ),
]
_YOROSHIKATTA = re.compile(r"(よろしかった)(?=でしょうか|ですか)")


def _baito(text: str, errors: list[KeigoError]) -> None:
    for pat, msg, sug in _BAITO:
        for m in pat.finditer(text):
            _err(errors, text, "baito_keigo", m.start(1), m.end(1), msg, sug)
    if not _PAST.search(text):
        for m in _YOROSHIKATTA.finditer(text):
            _err(
                errors,
                text,
                "baito_keigo",
                m.start(1),
                m.end(1),
                "今の確認に過去形「よろしかった」は誤用（バイト敬語）",
                "よろしい",
            )


def _sasete(text: str, ms: tuple[Morpheme, ...], errors: list[KeigoError]) -> None:
    n = len(ms)
    for i, m in enumerate(ms):
        # X + さ/せ + て + いただく, where X is an announcement or 思う
        onegai = m.lemma == "願う" and i > 0 and ms[i - 1].lemma == "御"
        noun = m.lemma in ANNOUNCE_ACTS or m.lemma in STATE_NOUNS
        if not (noun or onegai or (m.pos1 == "動詞" and m.lemma in ANNOUNCE_VERBS)):
            continue
        k = i + 1
        if k < n and ms[k].lemma == "為る":
            k += 1
        if k + 2 < n and ms[k].lemma in ("せる", "させる") and ms[k + 1].lemma == "て" and ms[k + 2].lemma == "頂く":
            s0, e0 = _span(ms, i - 1 if onegai else i, k + 2)
            if onegai:
                sug = "お願いいたします"
            elif m.pos1 != "動詞":
                sug = f"{m.surface}いたします"
            else:
                sug = "存じます"
            _err(
                errors,
                text,
                "sasete_itadaku",
                s0,
                e0,
                "相手の許可を必要としない一方的な行為に「させていただく」は過剰",
                sug,
            )
    for mt in re.finditer(r"(させていただかせていただ|させていただきさせていただ)", text):
        _err(errors, text, "sasete_itadaku", mt.start(), mt.end(), "「させていただく」の重複", "させていただ")


def _addressing(text: str, errors: list[KeigoError]) -> None:
    for m in re.finditer(r"御中[\s　]*[^\s　。、]{0,20}?様", text):
        _err(
            errors,
            text,
            "addressing",
            m.start(),
            m.end(),
            "「御中」と「様」は併用しない（個人宛なら様のみ）",
            re.sub(r"御中[\s　]*", " ", m.group(0)).strip(),
        )
    for m in re.finditer(r"各位(様|殿|さま)", text):
        _err(errors, text, "addressing", m.start(), m.end(), "「各位」は敬称を含むので「様」は付けない", "各位")
    for m in re.finditer(TITLES + r"(様|殿|さま)", text):
        _err(
            errors,
            text,
            "addressing",
            m.start(),
            m.end(),
            "役職名は敬称を含むので「様」は付けない（役職 氏名様 とする）",
            m.group(0)[: -len(m.group(1))],
        )
    if SUPERIOR.search(text.replace("ご苦労様", "").replace("ご苦労さま", "")):
        for m in re.finditer(r"ご苦労(様|さま)", text):
            _err(errors, text, "addressing", m.start(), m.end(), "目上の人に「ご苦労様」は失礼", "お疲れ様")
        for m in re.finditer(r"了解(しました|いたしました|です|しております)", text):
            _err(
                errors,
                text,
                "addressing",
                m.start(),
                m.end(),
                "目上・顧客への「了解しました」は不適切",
                "承知しました / かしこまりました",
            )


# ------------------------------------------------------------------ entry points
def analyze_sentence(text: str) -> KeigoAnalysis:
    """Forms and errors of one sentence (any string: never raises)."""
    ms = analyze(text)
    sonkei, kenjou, teinei = _forms(ms)
    errors: list[KeigoError] = []
    _double_and_mix(text, ms, errors)
    _uchi_keigo(text, ms, errors)
    _surface_mix(text, ms, errors)
    _ra_sa(text, ms, errors)
    _baito(text, errors)
    _sasete(text, ms, errors)
    _addressing(text, errors)
    errors.sort(key=lambda e: (e.start, e.type))
    return KeigoAnalysis(text, is_polite(ms), sonkei, kenjou, teinei, errors)


_SENT = re.compile(r"[^。！？!?\n]+[。！？!?]*")


def split_sentences(text: str) -> list[str]:
    """Sentences ending in 。！？ (kept) or a line break."""
    return [s.strip() for s in _SENT.findall(text) if s.strip()]


def analyze_text(text: str) -> list[KeigoAnalysis]:
    return [analyze_sentence(s) for s in split_sentences(text)]
