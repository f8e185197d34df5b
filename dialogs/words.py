"""Everything the bot says, in one place: short, plain and kind, for 12 to 17 year-olds."""

from __future__ import annotations

# Quick-reply labels, by option id. The id is also the dialog trigger it fires.
OPTIONS: dict[str, str] = {
    "talk": "Talk to someone",
    "report": "Remove a nude image",
    "advice": "Get advice",
    "leave": "Leave the chat",
    "menu": "Back to the start",
    "advice_fault": "Is it my fault?",
    "advice_reporting": "What does reporting do?",
    "advice_help": "Other places to get help",
    "leave_queue": "Stop waiting",
    "keep_waiting": "Keep waiting",
    "age_under_13": "Under 13",
    "age_13_15": "13 to 15",
    "age_16_17": "16 or 17",
    "age_18_plus": "18 or over",
    "verify_start": "Check my age",
    "verify_done": "I've finished",
    "verify_retry": "Try again",
    "upload_done": "I've added them all",
    "report_submit": "Send my report",
    "report_cancel": "Don't send it",
}

LINKS = {
    "childline": {"label": "Childline", "url": "https://www.childline.org.uk"},
    "report_remove": {"label": "Report Remove", "url": "https://www.childline.org.uk/info-advice/bullying-abuse-safety/online-mobile-safety/remove-nude-image-shared-online/"},
    "ceop": {"label": "CEOP (if someone is threatening you)", "url": "https://www.ceop.police.uk/Safety-Centre/"},
    "shout": {"label": "Shout: text 85258", "url": "https://giveusashout.org"},
    "stop_ncii": {"label": "StopNCII (for adults)", "url": "https://stopncii.org"},
    "rsvh": {"label": "Revenge Porn Helpline (for adults)", "url": "https://revengepornhelpline.org.uk"},
}

SAY: dict[str, str] = {
    "welcome": (
        "Hi, I'm Haven's chat bot. You're safe here. You don't have to give your real name. "
        "You can leave at any time with the Quick exit button."
    ),
    "menu": "What would you like to do? Tap a button or type what you need.",
    "menu_again": "Is there anything else I can help with?",
    "fallback": (
        "Sorry, I didn't quite get that. That's OK. You can tap one of the buttons, "
        "or type something like \"talk to someone\" or \"remove my picture\"."
    ),
    "advice": "Here's some advice about nude images. What would you like to know?",
    "advice_fault": (
        "It is not your fault, and you are not in trouble. Lots of young people share images, "
        "and the person who shares or threatens to share them is the one doing wrong. "
        "You did the right thing by coming here."
    ),
    "advice_reporting": (
        "When you report an image, trained people check it. If it's a nude image of someone under 18, "
        "they make a digital fingerprint of it (a hash) and share that with websites and apps, so they "
        "can find copies and take them down. Nobody at those companies sees your picture. We can't "
        "promise every copy will go, but it stops a lot of them."
    ),
    "advice_help": (
        "You can also talk to Childline any time on 0800 1111. If someone is threatening you or asking "
        "for money, tell CEOP. If you're in danger right now, call 999."
    ),
    "leave": "Take care. You can come back any time. Your chat will be here if you want it.",
    "talk_open": (
        "I'll find a counsellor for you. They're real people and they're here to listen, not judge. "
        "While you wait you can still read advice or start a report."
    ),
    "talk_closed": (
        "Our counsellors aren't online right now. They're back {when}. "
        "You can still read advice or report an image now. If you need to talk to someone now, "
        "call Childline on 0800 1111."
    ),
    "talk_already": "You're already waiting for a counsellor. They'll join as soon as they can.",
    "leave_queue": "OK, you've stopped waiting. You can ask for a counsellor again any time.",
    "risk_high": (
        "It sounds like things are really hard right now. You matter, and you don't have to deal with "
        "this alone. If you're in danger now, please call for help: {contacts}. "
        "Would you like to talk to a counsellor now?"
    ),
    "risk_medium": (
        "That sounds really tough. A counsellor can talk it through with you if you'd like."
    ),
    "report_age": (
        "I can help you get a nude image of you taken down. First, how old are you? "
        "This decides what happens next."
    ),
    "adult_signpost": (
        "Thanks for telling me. This service is for people under 18, but there's help for adults too: "
        "StopNCII can help stop images being shared, and the Revenge Porn Helpline can support you."
    ),
    "counsellor_joined": "A counsellor, {name}, has joined the chat.",
    "counsellor_left": "The counsellor has left the chat. I'm here if you need anything else.",
    "closed": "This chat has ended. Take care.",
}


def option_list(ids: list[str] | tuple[str, ...]) -> tuple[dict[str, str], ...]:
    return tuple({"id": i, "label": OPTIONS[i]} for i in ids)
