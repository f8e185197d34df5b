"""Risk triage: every category, the hard negatives of ordinary teenage language, disguises, risk built
across messages, the incremental state against whole-conversation scoring, and evidence spans.

The phrases here were written for these tests; none comes from the shared evaluation set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.risk import (
    HIGH,
    MEDIUM,
    RiskState,
    assess,
    assess_conversation,
    level_of,
    read,
    resume,
    step,
)
from bot.risk.model import get_model

CORPUS = Path(__file__).resolve().parents[2] / "data" / "risk"

# (messages, level, a category that must be among the conversation's)
CATEGORY_CASES = [
    (["honestly think im gonna end things this time"], "high", "suicidal_thoughts"),
    (["nobody would even notice if i was gone forever"], "high", "suicidal_thoughts"),
    (["i just want to fall asleep and not wake up"], "high", "suicidal_thoughts"),
    (["i've sorted out how i'd do it and when"], "high", "plan"),
    (["been reading up on how many you'd need to take"], "high", "plan"),
    (["i've got a whole strip of co-codamol and i'm going to take it"], "high", "means"),
    (["i'm sat on the edge of the bridge by the canal"], "high", "means"),
    (["i'm going to take all of my mirtazapine"], "high", "means"),
    (["i want to die", "after my mum goes to work tomorrow"], "high", "timeframe"),
    (["i've written a letter for my mum and left it on my bed"], "high", "goodbye"),
    (["i'm done. bye everyone"], "high", "goodbye"),
    (["i've been cutting my thighs and it's not stopping this time, soaked through the towel"], "high", "self_harm"),
    (["i took 25 of my sertraline an hour ago"], "high", "self_harm"),
    (["i keep scratching my arms with my compass"], "medium", "self_harm"),
    (["my step dad punched me and says he'll do worse when mum's out tonight"], "high", "danger_now"),
    (["a lad from the estate is waiting outside my flat with a knife"], "high", "danger_now"),
    (["a man on snap says he'll send my pics to my form group if i don't pay him £80"], "high", "sextortion"),
    (["someone i don't know has a video of me", "they want £300 by tonight or they'll show everyone"], "high", "sextortion"),
    (["he's 31 and wants me to come to his flat on saturday, said not to tell mum"], "high", "grooming"),
    (["a guy i met on discord says i'm really mature for my age"], "medium", "grooming"),
    (["i can't stop crying and nobody cares"], "medium", "distress"),
    (["i feel like such a failure at everything"], "medium", "distress"),
]

# Ordinary teenage language that sounds alarming out of context.
HARD_NEGATIVES = [
    "my pe teacher is killing me with these laps",
    "lmaooo i'm actually dead 💀💀 that teacher's face",
    "💀💀💀",
    "my mum will actually murder me, i lost my blazer again",
    "my dad is gonna kill me when he sees my phone bill",
    "we're watching a documentary about overdoses in pshe",
    "we've got an essay on romeo and juliet's suicide due friday",
    "i died so many times on that level 😭",
    "i'm not gonna kill myself, i just feel rubbish about exams",
    "my mate's brother tried to kill himself, how do i help her",
    "i took two paracetamol for my cramps",
    "i'm off to the station to get the train to my nan's",
    "bye!! see you tomorrow",
    "i was sooo dead after cross country lol",
    "kms this homework is so long lmao",
    "ugh this maths homework makes me want to die 😂",
    "i'm dying to see the new marvel film",
    "i cut my fringe and it's a disaster",
    "i've got a plan for my revision timetable",
    "my little sister keeps hitting me with her toys lol",
    "he shot me in fortnite lmao",
    "our teacher talked about sextortion in tutor time",
    "i'm meeting my mates at the park after school",
    "don't tell my brother about his surprise party 🤫",
    "i'm sending my friend pics of my new puppy",
]


@pytest.mark.parametrize(("messages", "level", "category"), CATEGORY_CASES)
def test_every_category_is_found_at_its_level(messages: list[str], level: str, category: str) -> None:
    result = assess_conversation(messages)
    assert result.level == level, (messages, result)
    assert category in result.categories, (messages, result.categories)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_ordinary_teenage_language_is_not_flagged(text: str) -> None:
    result = assess_conversation([text])
    assert result.level == "none", (text, result)


@pytest.mark.parametrize("text", [
    "ki11 mys3lf", "$uicide", "s.u.i.c.i.d.e", "s u i c i d e", "k*ll myself", "su1cid3", "i wanna d1e",
    "i feel suicidial", "sucidal thoughts", "i dnt wnt 2 live", "i want to dieeeee", "ive bin thinkin bout killin myself",
    "KILL MYSELF", "i want to k i l l myself",
])
def test_disguises_and_misspellings_are_undone(text: str) -> None:
    result = assess_conversation([text])
    assert result.level == "high" and "suicidal_thoughts" in result.categories, (text, result)


def test_emoji_keep_their_meaning() -> None:
    assert assess_conversation(["💊💊💊 tonight"]).level == "high"
    assert assess_conversation(["🔪🩸"]).level == "high"
    assert assess_conversation(["i'm so sad 😢😢"]).level == "medium"
    assert assess_conversation(["that's so funny 😂😂💀"]).level == "none"


def test_risk_builds_across_messages() -> None:
    plan, means = "i've made up my mind", "i've got some tablets"
    assert assess_conversation([plan]).level == "medium"
    assert assess_conversation([means]).level != "high"
    together = assess_conversation([plan, means])
    assert together.level == "high" and {"plan", "means"} <= set(together.categories)
    # Distress, small talk, then means: neither alone is high, together they are.
    distress = "everything is too much"
    assert assess_conversation([distress]).level == "medium"
    built = assess_conversation([distress, "idk", means])
    assert built.level == "high"
    assert {(e.index, e.category) for e in built.evidence} >= {(0, "distress"), (2, "means")}
    # Thoughts, then a time.
    assert assess_conversation(["i'm going to do it", "when everyone is asleep"]).level == "high"


def test_the_level_never_falls_within_a_chat() -> None:
    state = RiskState()
    scores = []
    for text in ["i want to die", "ok", "actually im fine lol", "thanks, bye", "i'm not suicidal"]:
        state, result = step(state, text)
        scores.append(result.score)
    assert scores[0] >= HIGH and scores == sorted(scores) and result.level == "high"


def test_incremental_state_equals_scoring_the_whole_conversation() -> None:
    rows = [json.loads(line) for line in (CORPUS / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    multi = [r for r in rows if len(r["messages"]) > 1]
    assert len(multi) >= 20
    for row in rows:
        stored: dict[str, object] | None = None
        for text in row["messages"]:
            # The chat keeps the state as JSON on the conversation row between messages.
            state, result = step(stored, text)
            stored = json.loads(json.dumps(state.as_json()))
        whole = assess_conversation(row["messages"])
        assert result == whole, row["id"]
        assert RiskState.from_json(stored).result() == whole


def test_the_state_holds_no_message_text() -> None:
    secret = "i have hidden 40 zopiclone behind the bath panel"
    state, result = step(None, secret)
    assert result.level == "high"
    dumped = json.dumps(state.as_json())
    for word in ("zopiclone", "bath", "panel", "hidden"):
        assert word not in dumped


def test_evidence_points_at_the_words_that_raised_it() -> None:
    messages = ["hi", "i can't cope anymore", "i've got 30 paracetamol saved up"]
    result = assess_conversation(messages)
    assert result.level == "high"
    spans = {(e.index, messages[e.index][e.start:e.end]) for e in result.evidence}
    assert any(i == 1 and "cope" in text for i, text in spans), spans
    assert any(i == 2 and "paracetamol" in text for i, text in spans), spans
    # Spans survive disguise and emoji: they index the text as written.
    disguised = assess_conversation(["tbh i w4nt t0 d1e 💊"])
    written = "tbh i w4nt t0 d1e 💊"
    assert any("d1e" in written[e.start:e.end] for e in disguised.evidence)


def test_a_stored_score_from_before_the_state_is_kept() -> None:
    _, result = step(resume(None, 92), "ok")
    assert result.score == 92 and result.level == "high"


def test_one_message_api_keeps_its_shape() -> None:
    assert level_of(HIGH) == "high" and level_of(MEDIUM) == "medium" and level_of(MEDIUM - 1) == "none"
    urgent = assess("i'm going to hang myself tonight")
    assert urgent.level == "high" and "means" in urgent.categories
    assert assess("what time does the shop shut").score == 0


def test_the_learned_part_is_shipped_deterministic_and_raises_what_the_list_misses() -> None:
    model = get_model()
    assert model is not None, "bot/risk/model.json is missing: run python -m bot.risk.train"
    first = model.predict("i just want to be with my grandad up there")
    assert first == model.predict("i just want to be with my grandad up there")
    assert model.predict("what time does the shop shut").p_high < model.high
    # A message no lexicon entry matches may still be raised by the model, with its words as evidence.
    reading = read("ive bin thinkin bout endin it")
    assert reading.model_score >= MEDIUM and reading.model_spans


def test_the_learned_part_cannot_overrule_the_lexicon_on_a_phrase_it_took_back() -> None:
    for text in ("this revision is killing me", "we're reading a book about suicide in english"):
        reading = read(text)
        assert reading.signals.discounted and reading.model_score == 0 and reading.score == 0


def test_the_runtime_model_computes_what_scikit_learn_trained() -> None:
    """Training and run time share one featuriser; the JSON weights give scikit-learn's probabilities."""
    pytest.importorskip("sklearn")
    import numpy as np

    from bot.risk.model import Model
    from bot.risk.train import fit, load, texts_and_labels

    texts, labels = texts_and_labels(load(CORPUS / "train.jsonl")[::6])
    vectoriser, classifier = fit(texts, labels)
    vocabulary = sorted(vectoriser.vocabulary_, key=vectoriser.vocabulary_.get)
    model = Model({"vocabulary": vocabulary, "idf": list(vectoriser.idf_), "coef": classifier.coef_.tolist(),
                   "intercept": list(classifier.intercept_), "thresholds": {"high": 0.5, "medium": 0.5}})
    probes = ["i want to end it all tonight", "this revision is killing me", "i have 30 pills saved", "hello"]
    expected = classifier.predict_proba(vectoriser.transform(probes))
    for probe, row in zip(probes, expected):
        got = model.predict(probe)
        assert np.allclose([got.p_medium, got.p_high], row[1:], atol=1e-9), probe


def test_training_refuses_the_shared_evaluation_set(tmp_path: Path) -> None:
    from bot.risk.train import main

    shared = tmp_path / "shared" / "risk" / "dev.jsonl"
    shared.parent.mkdir(parents=True)
    shared.write_text('{"id": 1, "label": "none", "messages": ["hi"]}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        main(["--train", str(shared), "--output", str(tmp_path / "model.json")])
    assert "measuring only" in str(refused.value)
    assert not (tmp_path / "model.json").exists()
