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
    "upload_more": "Add more images",
    "report_withdraw": "Withdraw my report",
    "report_withdraw_yes": "Yes, withdraw it",
    "report_withdraw_no": "No, keep it",
    "report_answer": "Answer our team",
    "report_answer_cancel": "Not now",
}

LINKS = {
    "childline": {"label": "Childline", "url": "https://www.childline.org.uk"},
    "report_remove": {"label": "Report Remove", "url": "https://www.childline.org.uk/info-advice/bullying-abuse-safety/online-mobile-safety/remove-nude-image-shared-online/"},
    "ceop": {"label": "CEOP (if someone is threatening you)", "url": "https://www.ceop.police.uk/Safety-Centre/"},
    "shout": {"label": "Shout: text 85258", "url": "https://giveusashout.org"},
    "stop_ncii": {"label": "StopNCII (for adults)", "url": "https://stopncii.org"},
    "rsvh": {"label": "Revenge Porn Helpline (for adults)", "url": "https://revengepornhelpline.org.uk"},
    # The age-check page: the url is filled in per check (dialogs/verifying.py).
    "verify_page": {"label": "Check my age", "url": ""},
}

SAY: dict[str, str] = {
    "welcome": (
        "Hi, I'm Haven's chat bot. You're safe here. You don't have to give your real name. "
        "If you need to leave fast, tap Quick exit or press the Shift key three times. That closes the chat "
        "and signs you out on this phone or computer, so nobody else can read it. Your chat is kept safe "
        "and comes back when you sign in again."
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
    "report_upload": (
        "You can add your images now. Tap \"Choose images\" below to pick them from your phone or computer. "
        "Only our trained team will see them, and we never show them back to anyone. "
        "When you've added them all, tap \"I've added them all\"."
    ),
    "report_upload_more": (
        "Your report already has {images}. You can add more now, then tap \"I've added them all\"."
    ),
    "report_image_received": "Got it: {images} received so far.",
    "report_no_images": (
        "I haven't received any images yet. Tap \"Choose images\" to add them, then tap \"I've added them all\"."
    ),
    "report_confirm": (
        "You've added {images}. Shall I send your report now? Once it's sent, our team will check it "
        "and let you know what happens here in the chat."
    ),
    "report_submitted": (
        "Your report has been sent with {images}. Your reference is {reference}. You might want to write it down. "
        "You did the right thing. We'll tell you in this chat what happens next."
    ),
    "report_cancelled": "OK, I haven't sent it, and the images you added have been deleted.",
    "verify_why": (
        "Because you're 13 to 17, I need to check you're under 18 before you report. This keeps the service "
        "for young people only. A separate age-check service does the check, on its own page. "
        "We only keep whether you're under 18, how you proved it and when — never your ID, photo or "
        "date of birth. Tap \"Check my age\" to start."
    ),
    "verify_starting": "OK, I'm setting up your age check. It only takes a moment.",
    "verify_link": (
        "Tap \"Check my age\" to open the check in a new tab. When you've finished, come back here: "
        "I'll move on by myself. If nothing happens, tap \"I've finished\"."
    ),
    "verify_not_ready": "Your age check is still being set up. The link will appear here in a moment.",
    "verify_checking": "Thanks. I'm checking the result now.",
    "verify_pending": (
        "The age check hasn't finished yet. Finish it in the other tab, then tap \"I've finished\". "
        "If you closed it, tap \"Try again\"."
    ),
    "verify_unavailable": (
        "Sorry, the age check isn't working right now. That's not your fault. "
        "You can try again in a minute, or talk to someone."
    ),
    "verify_result_unavailable": (
        "Sorry, I couldn't get your result from the age check just now. "
        "Tap \"I've finished\" to ask again in a minute, or talk to someone."
    ),
    "verify_ok": "Thanks, that's done. The check says you're under 18, so I can help you report the image.",
    "verify_over_18": "The age check says you're 18 or over.",
    "verify_failed": (
        "The age check couldn't confirm your age. That happens sometimes and it's OK. "
        "You can try again, or talk to someone who can help."
    ),
    "verify_abandoned": (
        "It looks like the age check was stopped before the end. "
        "You can try again whenever you're ready, or talk to someone."
    ),
    "verify_expired": "The age check timed out before it was finished. You can try again, or talk to someone.",
    "counsellor_changed": "{name} is taking over this chat now. They can see everything you've written.",
    "counsellor_still_here": "Your counsellor is still here with you. Just type to carry on talking.",
    "counsellor_requeued": (
        "I've put you back in the queue for another counsellor, and you keep your place. "
        "Someone will join as soon as they can."
    ),
    "counsellor_requeued_lost": (
        "Your counsellor couldn't get back, so you're now at the front of the queue. "
        "The next counsellor who's free will join you. Nothing you've written is lost."
    ),
    "counsellor_connection_lost": (
        "Your counsellor's connection has dropped. Please wait a moment while they get back. "
        "Nothing you've written is lost."
    ),
    "counsellor_back": "Your counsellor is back.",
    "report_withdraw_ask": (
        "Do you want to withdraw your report {reference}? If you do, our team won't look at it and the images "
        "you sent will be deleted. You can always report again."
    ),
    "report_withdraw_none": (
        "There's no report to withdraw right now. A report can be withdrawn until our team has made a decision."
    ),
    "report_withdraw_too_late": (
        "Our team has already made a decision about that report, so it can't be withdrawn now. "
        "I'll tell you here what happens."
    ),
    "report_withdraw_kept": "OK, your report stays with our team.",
    "ticket_withdrawn": (
        "Your report {reference} has been withdrawn. Our team won't look at it, and the images you sent will be "
        "deleted. You can report again any time."
    ),
    "ticket_in_review": (
        "Someone from our team has started looking at your report {reference}. You don't need to do anything. "
        "I'll tell you here what happens."
    ),
    "ticket_in_review_again": "Our team is looking at your report {reference} again.",
    "ticket_actioned": (
        "Your report {reference} has been checked. We've made digital fingerprints of {images} and shared them "
        "with websites and apps, so they can find copies and take them down. Nobody there sees your pictures. "
        "You did the right thing by reporting."
    ),
    "ticket_actioned_some": (
        "Your report {reference} has been checked. We've made digital fingerprints of {images} and shared them "
        "with websites and apps, so they can find copies and take them down. Nobody there sees your pictures. "
        "We couldn't do the same for {others}: we can only ask websites to remove nude or sexual pictures of "
        "someone under 18. If it still worries you, you can talk to someone here."
    ),
    "ticket_not_actioned": (
        "Our team has carefully checked your report {reference}. We can't ask websites to remove these images, "
        "because {reason} This isn't your fault, and you did the right thing by asking. If you're still "
        "worried, you can talk to someone here, or call Childline free on 0800 1111."
    ),
    "ticket_reason_not_indecent": "they don't show nudity or anything sexual.",
    "ticket_reason_not_a_child": (
        "we couldn't be sure the person in them is under 18, and we can only remove pictures of under-18s."
    ),
    "ticket_reason_cannot_tell": (
        "they weren't clear enough for us to be sure what they show. If you have a clearer copy, you can "
        "send a new report."
    ),
    "ticket_reason_other": "they aren't pictures we're able to ask websites to remove.",
    "ticket_needs_info": (
        "Our team is working on your report {reference} and needs a little more information. They asked: "
        "\"{message}\" Tap \"Answer our team\" to reply here. Only our team will see your answer."
    ),
    "report_answer_ask": "Type your answer below and tap Send. Only our team will see it.",
    "report_answer_thanks": (
        "Thank you. I've passed your answer to our team with report {reference}. They'll look at it again "
        "and tell you here what happens."
    ),
    "report_answer_none": "There's no question from our team waiting for an answer right now.",
    "report_answer_later": "OK. You can answer whenever you're ready: tap \"Answer our team\".",
    "ticket_purged": "The images you sent with report {reference} have now been deleted from Haven.",
    "ticket_purged_kept": (
        "The images you sent with report {reference} have now been deleted from Haven. Their fingerprints "
        "stay on the list, so copies can still be found and taken down."
    ),
}


def option_list(ids: list[str] | tuple[str, ...]) -> tuple[dict[str, str], ...]:
    return tuple({"id": i, "label": OPTIONS[i]} for i in ids)
