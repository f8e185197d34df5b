"""Simple intents for free text: enough to understand "can I talk to someone" or "remove my picture"."""

from __future__ import annotations

import re

# Checked in order; the first match wins. Patterns match whole words in lower-cased text.
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("report_withdraw", (
        r"(withdraw|cancel|stop|take back)\b.*\breport", r"don'?t want to report( it)? any ?more",
    )),
    ("talk", (
        r"talk to (someone|somebody|a person|a human|a counsell?or|a real person)",
        r"speak to (someone|somebody|a person|a human|a counsell?or|a real person)",
        r"(real|actual) (person|human)", r"counsell?or", r"human", r"(need|want) (someone|somebody) to talk",
        r"can i talk", r"someone to talk to",
    )),
    ("report", (
        r"(remove|delete|take down|takedown|get rid of|report)\b.*\b(pic|pics|picture|pictures|photo|photos|image|images|nude|nudes|video|selfie)",
        r"(pic|pics|picture|pictures|photo|photos|image|images|nude|nudes)\b.*\b(removed|deleted|taken down|online|shared|posted)",
        r"report remove", r"^report$",
    )),
    ("leave_queue", (r"stop waiting", r"(leave|exit) the queue", r"don'?t want to wait")),
    ("leave", (r"^(bye|goodbye|see ya|see you|leave|exit|quit)\b", r"leave (the )?chat", r"end (the )?chat")),
    ("menu", (r"^(menu|start|start again|restart|home|back)$", r"main menu", r"go back")),
    ("advice_fault", (r"my fault", r"(am i|will i be|get) in trouble", r"blame")),
    ("advice", (r"^help$", r"\badvice\b", r"\binfo\b", r"information", r"what can i do", r"help me\b")),
)

_COMPILED = [(name, [re.compile(p) for p in patterns]) for name, patterns in INTENTS]


def match_intent(text: str) -> str | None:
    lowered = " ".join(text.lower().replace("’", "'").split())
    lowered = re.sub(r"[?!.,]+$", "", lowered)
    for name, patterns in _COMPILED:
        if any(p.search(lowered) for p in patterns):
            return name
    return None
