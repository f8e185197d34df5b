"""The word tables triage reads children's writing with: emoji meanings, shorthand, and the key words whose
misspellings are mended. Kept apart from the lexicon so each table can be read and reviewed on its own."""

from __future__ import annotations

# Emoji keep a meaning instead of being thrown away. A pictograph of means or injury becomes the word;
# laughing faces (and the skull, which teenagers use for "I'm dead laughing") become `lolmark`, which the
# context rules read as a joke; sad faces become `sadmark`, a weak sign of distress.
EMOJI: dict[str, tuple[str, ...]] = {
    "💊": ("pills",), "💉": ("needle",), "🔪": ("knife",), "🗡": ("knife",), "⚔": ("knife",), "🪒": ("razor",),
    "🩸": ("blood",), "🩹": ("plaster",), "🪢": ("rope",), "⛓": ("chain",), "⚰": ("coffin",), "🪦": ("grave",),
    "🔫": ("gun",), "🌉": ("bridge",), "🚆": ("train",), "🚂": ("train",), "🚄": ("train",), "🚇": ("train",),
    "🚉": ("station",), "🛤": ("railway",), "🚗": ("car",), "🌊": ("sea",), "🏢": ("building",),
    "💀": ("lolmark",), "☠": ("lolmark",), "😂": ("lolmark",), "🤣": ("lolmark",), "😹": ("lolmark",),
    "😆": ("lolmark",), "😝": ("lolmark",), "😜": ("lolmark",), "🙃": ("lolmark",), "😅": ("lolmark",),
    "🤪": ("lolmark",), "😭": ("cryingmark",), "😢": ("sadmark",), "😞": ("sadmark",), "😔": ("sadmark",),
    "😟": ("sadmark",), "☹": ("sadmark",), "🙁": ("sadmark",), "😩": ("sadmark",), "😫": ("sadmark",),
    "💔": ("sadmark",), "🥀": ("sadmark",), "😿": ("sadmark",), "😪": ("sadmark",), "😥": ("sadmark",),
    "😰": ("scaredmark",), "😨": ("scaredmark",), "😱": ("scaredmark",), "👋": ("wave",), "🆘": ("help",),
    "🤫": ("secret",), "💰": ("money",), "💵": ("money",), "💷": ("money",), "💸": ("money",), "📸": ("photo",),
    "📷": ("photo",), "🍑": ("body",), "🍆": ("body",),
}

# Written shorthand to canonical words. Contractions lose their apostrophe before this table is read, so
# "i'm" and "im" are one entry.
SHORTHAND: dict[str, tuple[str, ...]] = {
    "im": ("i", "am"), "iam": ("i", "am"), "ive": ("i", "have"), "ima": ("i", "am", "going", "to"),
    "imma": ("i", "am", "going", "to"), "ill": ("i", "will"), "i'll": ("i", "will"),
    "wanna": ("want", "to"), "wana": ("want", "to"), "wnna": ("want", "to"), "wan": ("want",), "wnt": ("want",),
    "wantt": ("want",), "gonna": ("going", "to"), "gna": ("going", "to"), "gunna": ("going", "to"),
    "goin": ("going",), "gunn": ("going", "to"), "tryna": ("trying", "to"), "gotta": ("got", "to"),
    "dnt": ("dont",), "don": ("dont",), "dont": ("dont",), "doesnt": ("doesnt",), "dun": ("dont",),
    "cnt": ("cant",), "carnt": ("cant",), "wont": ("wont",), "wnt2": ("want", "to"), "didnt": ("didnt",),
    "u": ("you",), "ya": ("you",), "yu": ("you",), "ur": ("your",), "youre": ("you", "are"), "r": ("are",),
    "2": ("2",), "2day": ("today",), "2nite": ("tonight",), "2night": ("tonight",), "tonite": ("tonight",),
    "tn": ("tonight",), "2moro": ("tomorrow",), "2morrow": ("tomorrow",), "tmrw": ("tomorrow",),
    "tmr": ("tomorrow",), "tomoz": ("tomorrow",), "tmoz": ("tomorrow",), "tomorow": ("tomorrow",),
    "2mrw": ("tomorrow",), "rn": ("right", "now"), "atm": ("right", "now"), "nw": ("now",),
    "b": ("be",), "bein": ("being",), "n": ("and",), "nd": ("and",), "wiv": ("with",), "w": ("with",),
    "ppl": ("people",), "sum1": ("someone",), "some1": ("someone",), "no1": ("no", "one"), "noone": ("no", "one"),
    "any1": ("anyone",), "ne1": ("anyone",), "every1": ("everyone",), "evry1": ("everyone",), "ne": ("any",),
    "nemore": ("anymore",), "nymore": ("anymore",), "anymor": ("anymore",), "no more": ("anymore",),
    "lyf": ("life",), "lyfe": ("life",), "lif": ("life",), "liv": ("live",), "ded": ("dead",), "dedd": ("dead",),
    "h8": ("hate",), "8": ("8",), "l8r": ("later",), "gr8": ("great",), "b4": ("before",), "4ever": ("forever",),
    "coz": ("because",), "cos": ("because",), "cuz": ("because",), "bc": ("because",), "bcos": ("because",),
    "tho": ("though",), "thru": ("through",), "pls": ("please",), "plz": ("please",), "plss": ("please",),
    "idk": ("i", "dont", "know"), "idw": ("i", "dont", "want"), "idwt": ("i", "dont", "want", "to"), "idwanna": ("i", "dont", "want", "to"), "dunno": ("dont", "know"), "idc": ("i", "dont", "care"),
    "idgaf": ("i", "dont", "care"), "ngl": ("honestly",), "tbh": ("honestly",), "tbf": ("honestly",),
    "fr": ("honestly",), "frfr": ("honestly",), "deadass": ("honestly",), "lowkey": ("honestly",),
    "highkey": ("honestly",), "srsly": ("seriously",), "hv": ("have",), "av": ("have",),
    "kms": ("kill", "myself"), "kmss": ("kill", "myself"), "k.m.s": ("kill", "myself"), "kys": ("kys",),
    "killmyself": ("kill", "myself"), "killmyslf": ("kill", "myself"), "myslf": ("myself",), "meself": ("myself",),
    "mself": ("myself",), "myselff": ("myself",), "unalive": ("unalive",), "unaliving": ("unalive",),
    "unalived": ("unalived",), "unalive-ing": ("unalive",), "sewerslide": ("suicide",), "sewerslid": ("suicide",),
    "suicde": ("suicide",), "sucide": ("suicide",), "suiside": ("suicide",), "suicid": ("suicide",),
    "suicidle": ("suicidal",), "suicidl": ("suicidal",), "sucidal": ("suicidal",), "sucidle": ("suicidal",),
    "suicidial": ("suicidal",), "suisidal": ("suicidal",), "endmylife": ("end", "my", "life"),
    "wanttodie": ("want", "to", "die"), "wannadie": ("want", "to", "die"), "selfharm": ("self", "harm"),
    "selfharming": ("self", "harming"), "selfharmed": ("self", "harmed"), "sh": ("sh",), "s/h": ("sh",),
    "od": ("overdose",), "oding": ("overdosing",), "odd": ("odd",), "od'd": ("overdosed",), "odd'd": ("overdosed",),
    "odeed": ("overdosed",), "oded": ("overdosed",), "ctb": ("suicide",),
    "pils": ("pills",), "pillz": ("pills",), "tabs": ("tablets",), "tablet": ("tablet",), "meds": ("meds",),
    "paracetemol": ("paracetamol",), "paracetomol": ("paracetamol",), "parecetamol": ("paracetamol",),
    "paracetmol": ("paracetamol",), "paracetamols": ("paracetamol",), "ibroprofen": ("ibuprofen",),
    "ibuprofin": ("ibuprofen",), "ibuprophen": ("ibuprofen",), "nudez": ("nudes",), "noods": ("nudes",),
    "nudies": ("nudes",), "pix": ("pics",), "piccs": ("pics",), "piks": ("pics",), "vids": ("videos",),
    "vid": ("video",), "snap": ("snapchat",), "sc": ("snapchat",), "insta": ("instagram",), "ig": ("instagram",),
    "dms": ("messages",), "dm": ("message",), "pm": ("message",), "msgs": ("messages",), "msg": ("message",),
    "txt": ("text",), "bf": ("boyfriend",), "gf": ("girlfriend",), "mum's": ("mums",), "mam": ("mum",),
    "mom": ("mum",), "mommy": ("mum",), "mummy": ("mum",), "da": ("dad",), "pa": ("dad",), "step-dad": ("stepdad",),
    "yrs": ("years",), "yr": ("year",), "y/o": ("years", "old"), "yo": ("years", "old"), "yrold": ("years", "old"),
    "lol": ("lolmark",), "lool": ("lolmark",), "lmao": ("lolmark",), "lmfao": ("lolmark",), "rofl": ("lolmark",),
    "haha": ("lolmark",), "hahaha": ("lolmark",), "hehe": ("lolmark",), "jk": ("lolmark",), "xd": ("lolmark",),
    "jokes": ("lolmark",), "lolol": ("lolmark",), "ahaha": ("lolmark",), "lel": ("lolmark",),
    "bye": ("bye",), "byee": ("bye",), "cya": ("bye",), "goodbye": ("goodbye",), "gbye": ("goodbye",),
    "2nd": ("2nd",), "ok": ("ok",), "okay": ("ok",), "k": ("ok",), "kk": ("ok",), "okk": ("ok",),
    "alr": ("alright",), "aight": ("alright",), "x": ("x",), "xx": ("x",), "xxx": ("x",),
    "wud": ("would",), "wld": ("would",), "cud": ("could",), "shud": ("should",), "wat": ("what",), "wot": ("what",),
    "wht": ("what",), "wts": ("whats",), "whats": ("what", "is"), "whts": ("what", "is"), "its": ("it", "is"),
    "thats": ("that", "is"), "theres": ("there", "is"), "hes": ("he", "is"), "shes": ("she", "is"),
    "theyre": ("they", "are"), "theyll": ("they", "will"),
    "theyve": ("they", "have"), "someones": ("someone", "is"), "tonights": ("tonight", "is"), "everyones": ("everyone", "is"), "hed": ("he", "would"), "theyd": ("they", "would"),
    "were": ("were",), "weve": ("we", "have"), "itll": ("it", "will"), "thatll": ("that", "will"),
    "cant": ("cant",), "cannot": ("cant",), "couldnt": ("couldnt",), "shouldnt": ("shouldnt",),
    "wouldnt": ("wouldnt",), "isnt": ("isnt",), "wasnt": ("wasnt",), "arent": ("arent",), "aint": ("aint",),
    "havent": ("havent",), "hasnt": ("hasnt",), "werent": ("werent",),
    "gud": ("good",), "gd": ("good",), "nuthin": ("nothing",), "nothin": ("nothing",), "nthn": ("nothing",),
    "evrything": ("everything",), "evrythin": ("everything",), "everythin": ("everything",), "sumthin": ("something",),
    "smth": ("something",), "sth": ("something",), "bcuz": ("because",), "prob": ("probably",), "prolly": ("probably",),
    "luv": ("love",), "bout": ("about",), "abt": ("about",), "hav": ("have",), "wiff": ("with",), "wid": ("with",), "tht": ("that",), "dat": ("that",),
    "da1": ("the", "one"), "thx": ("thanks",), "ty": ("thanks",), "ta": ("thanks",), "pic": ("pic",),
    "nuds": ("nudes",), "nude": ("nude",), "sxt": ("sext",), "pp": ("people",), "ppls": ("people",),
}

# Key words whose misspellings are mended (six letters or more; one edit, two from nine letters). Short
# words are not: "kill" is one letter from "bill", "die" from "diet"; their variants are listed above.
FUZZY_WORDS = (
    "suicide", "suicidal", "overdose", "overdosed", "overdosing", "unalive", "kill", "myself", "herself",
    "hanging", "noose", "paracetamol", "ibuprofen", "codeine", "co-codamol", "cocodamol", "naproxen",
    "sertraline", "fluoxetine", "citalopram", "escitalopram", "amitriptyline", "mirtazapine", "propranolol",
    "diazepam", "tramadol", "morphine", "oxycodone", "zopiclone", "quetiapine", "olanzapine", "venlafaxine",
    "lithium", "insulin", "melatonin", "antidepressants", "antidepressant", "painkillers", "sleeping",
    "tablets", "medication", "medicine", "blackmail", "blackmailing", "blackmailed", "threatening",
    "threatened", "sextortion", "sextorting", "screenshot", "screenshotted", "goodbye", "everyone",
    "anymore", "harming", "cutting", "bleeding", "stitches", "tomorrow", "tonight", "worthless", "hopeless",
    "depressed", "depression", "anxiety", "lonely", "alive", "living", "strangled", "choking", "stabbed",
    "kidnapped", "following", "exposing", "nudes", "pictures", "photos", "existing", "forever", "burden",
    "pointless", "antifreeze", "bleach",
)
# Real words a key word's mending must never swallow.
FUZZY_GUARD = frozenset({
    "suited", "decide", "besides", "overdone", "overrode", "alike", "olive", "living", "giving", "loving",
    "having", "leaving", "bleeding", "breeding", "reading", "leading", "heading", "kitten", "sitting",
    "cutie", "putting", "cutting", "butting", "shutting", "photo", "cheating", "treating", "threading",
    "tonight", "tomorrow", "lovely", "forever", "existing", "exciting", "pointed", "burden", "garden",
    "sleeping", "sweeping", "stitched", "stitch", "witches", "blackmail", "medicine", "myself", "itself",
    "yourself", "himself", "herself", "hanging", "banging", "changing", "ranging", "everyone", "evening",
    "anyone", "someone", "bleach", "beach", "breach", "preach", "blanket", "choking", "cooking", "smoking",
    "joking", "poking", "looking", "booking", "following", "hollowing", "swallowing", "kidding", "herring",
    "strangers", "strange", "stranger", "lonely", "lively", "alive", "arrive", "native", "active",
    "harming", "warming", "farming", "charming", "alarming", "tablets", "tablet", "goodbye", "goodbyes",
    "pictures", "pictured", "stabbed", "grabbed", "stable", "stables", "depressed", "impressed", "pressed",
    "anxiety", "society", "variety", "medicines", "nudes", "dudes", "forests", "hopeless", "homeless",
    "worthless", "anymore", "sickle", "insulin",
})


def _by_first_letter(words: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for word in words:
        if len(word) >= 6:
            table.setdefault(word[0], []).append(word)
    return {k: tuple(v) for k, v in table.items()}


FUZZY_TARGETS = _by_first_letter(FUZZY_WORDS)
