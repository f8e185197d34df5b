"""What children write when they are in danger, by category, as patterns over canonical words.

Each entry names its category, a strength (0-100: 90 and over is high on its own, 50 and over worrying)
and the phrases, written over the canonical text `bot.risk.normalise` makes: lower case, apostrophes
gone, shorthand expanded ("im" -> "i am", "wanna" -> "want to", "kms" -> "kill myself"), emoji as words
("💊" -> "pills"), " | " between clauses. Placeholders in braces are the shared pieces below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.risk.words import EMOJI, FUZZY_WORDS, SHORTHAND

CATEGORIES = ("suicidal_thoughts", "plan", "means", "timeframe", "goodbye", "self_harm", "danger_now",
              "sextortion", "grooming", "distress")

# UK medicines children reach for (prescribed to them or someone at home, or on a shop shelf).
MEDICINES = (
    "paracetamol", "ibuprofen", "aspirin", "codeine", "co-codamol", "cocodamol", "co codamol", "naproxen",
    "tramadol", "morphine", "oxycodone", "dihydrocodeine", "sertraline", "fluoxetine", "prozac", "citalopram",
    "escitalopram", "amitriptyline", "mirtazapine", "venlafaxine", "duloxetine", "paroxetine", "trazodone",
    "propranolol", "diazepam", "valium", "lorazepam", "zopiclone", "quetiapine", "olanzapine", "risperidone",
    "aripiprazole", "lithium", "lamotrigine", "sodium valproate", "melatonin", "promethazine", "nytol",
    "sleeping pills", "sleeping tablets", "sleeping tablet", "sleeping pill", "antidepressants", "antidepressant",
    "painkillers", "painkiller", "pain killers", "calpol", "nurofen", "anadin", "beechams", "lemsip", "insulin",
    "methylphenidate", "ritalin", "concerta", "elvanse", "gabapentin", "pregabalin", "antihistamines",
    "piriton", "pills", "tablets", "meds", "medication", "medicine", "tabs", "capsules", "xanax", "xans",
    "benzos",
)
_POISONS = ("bleach", "antifreeze", "weedkiller", "drain cleaner", "rat poison", "poison", "vodka and pills")

MACROS = {
    "adv": r"(?:(?:really|just|honestly|actually|so|literally|genuinely|seriously|kinda|kind of|sort of|"
           r"fully|truly|still|always|definitely|even|fucking|proper|properly|all|now|like|low key|"
           r"totally|deeply|badly|sometimes|often|probably|gonna|then|such) ){0,3}",
    "g": r"(?:[^ |]+ ){0,3}",
    "gg": r"(?:[^ |]+ ){0,6}",
    "ggg": r"(?:[^ |]+ ){0,10}",
    "med": "(?:" + "|".join(sorted((re.escape(m) for m in MEDICINES), key=len, reverse=True)) + ")",
    "poison": "(?:" + "|".join(re.escape(p) for p in _POISONS) + ")",
    "my": r"(?:my|my mums|my dads|my nans|my mum s|my dad s|my nan s|my sisters|my brothers|the|a|some|these|"
          r"those|her|his|their|our|all|all my|all the|all of my|all of the|everyone s)",
    "qty": r"(?:all|all of|all my|all the|every|everything|the whole|a whole|whole|a full|full|a load of|load of|"
           r"loads of|a lot of|lots of|a bunch of|a handful of|a pack of|a packet of|a box of|a bottle of|"
           r"two packets of|2 packets of|a strip of|strips of|a stash of|loads|enough|too many|like|about|"
           r"over|more than|at least|[1-9][0-9]+|eight|nine|ten|eleven|twelve|fifteen|sixteen|twenty|"
           r"thirty|forty|fifty|a hundred|hundred)",
    "place": r"(?:bridge|train tracks|railway tracks|railway line|train line|the tracks|tracks|railway|"
             r"platform|cliff|cliffs|cliff edge|edge of the cliff|roof|rooftop|top of the flats|multi storey|"
             r"multistorey|car park roof|top floor|tower block|balcony|motorway|pier|river|canal|reservoir|"
             r"quarry|viaduct|ledge|the sea|sea)",
    "future": r"(?:going to|am going to|will|gonna|want to|wanna|need to|about to|plan to|planning to|"
              r"planning on|thinking of|thinking about|think about|thought about|keep thinking about|"
              r"feel like|might|could|should|would|wish i could|trying to|try to|tried to|ready to|"
              r"decided to|am gonna|i will|i am|i am going to|i would|i might|i want to)",
    "time": r"(?:tonight|tomorrow|today|this weekend|next week|this week|on friday|on saturday|on sunday|"
            r"on monday|on tuesday|on wednesday|on thursday|friday|saturday|sunday|monday|tuesday|"
            r"wednesday|thursday|after school|before school|in the morning|in an hour|in a few hours|"
            r"right now|now|soon|when everyone is asleep|when everyone s asleep|when everyone goes to bed|"
            r"when my mum goes to work|when mum goes to work|later|on my birthday|next saturday|next friday|"
            r"by the weekend|at midnight|this evening|in a bit)",
    "pics": r"(?:pics|pictures|photos|photo|pic|picture|nudes|nude|nude pics|nude photos|videos|video|images|"
            r"image|vids|clip|recording|private pics|private photos|stuff|snaps|sexts|screenshots|screenshot)",
    "share": r"(?:send|post|share|leak|expose|show|put|spread|upload|sending|posting|sharing|leaking|exposing|"
             r"showing|putting|spreading|uploading|sent|posted|shared|leaked|exposed|showed)",
    "they": r"(?:he|she|they|him|her|them|someone|somebody|this guy|a guy|this man|a man|this girl|a girl|"
            r"this person|a person|the guy|the man|the person|my ex|an account)",
    "adult": r"(?:man|guy|adult|older|grown up|grownup|bloke|old man|older man|older guy|older boy|coach|tutor|"
             r"teacher|[2-6][0-9] years old|[2-6][0-9] year old|aged [2-6][0-9]|is [2-6][0-9]|he is [1-6][0-9]|"
             r"met online|online|on discord|on snapchat|on instagram|on tiktok|on roblox|on fortnite|"
             r"on xbox|on ps5|on the game|from discord|from snapchat|from instagram|from tiktok|from roblox|"
             r"from the game|stranger)",
    "hurtverb": r"(?:hurt|hit|beat|stab|kill|shoot|batter|kick|punch|strangle|choke|rape|smack|slap|attack|"
                r"burn|drown|murder|get|jump|knife|shank|do me in|break my)",
}


@dataclass(frozen=True)
class Entry:
    """One kind of thing a child may write: its category, strength and the phrases that say it."""

    name: str
    category: str
    weight: int
    patterns: tuple[str, ...]
    # The phrase does not name its subject ("overdose", "self harm"): someone else's may be meant.
    anyone: bool = False
    # Jokes, fiction and negation may take it back. Danger described plainly is never a joke.
    jokable: bool = True


def E(name: str, category: str, weight: int, *patterns: str, anyone: bool = False, jokable: bool = True) -> Entry:
    return Entry(name, category, weight, patterns, anyone, jokable)


ENTRIES: tuple[Entry, ...] = (
    # Suicidal thoughts -----------------------------------------------------------------------
    E("kill myself", "suicidal_thoughts", 95,
      r"kill myself", r"killing myself", r"killed myself", r"end myself", r"off myself", r"top myself",
      r"unalive myself", r"unalive", r"unalived myself", r"take my own life", r"taking my own life",
      r"take my life", r"end my (?:own )?life", r"ending my (?:own )?life", r"end my own life",
      r"end it all", r"ending it all", r"end it {adv}(?:all|now|tonight|for good|permanently)",
      r"end everything", r"end things", r"(?:cant|can not|dont|do not) (?:see|think) (?:myself|i will|ill) (?:making it|make it|being alive|being here|living|alive) (?:to|till|until|past|at|for|much)",
      r"(?:wont|will not|not going to|dont think i will|dont think ill|dont think i ll) (?:make it|be alive|be here|live) (?:to|till|until|past|for) (?:my|18|16|next|the end|christmas|the weekend)",
      r"tired of (?:fighting|trying) to (?:stay alive|live|keep going|be here)", r"(?:give|giving|given) up on (?:life|living|being alive)",
      r"(?:wish|wishing|hope|hoping) (?:a |that a )?(?:car|bus|train|lorry) (?:would|will|could) (?:hit|kill) me", r"(?:want to|wanna|need to) stop breathing",
      r"(?:should|might as well|may as well|deserve to) {adv}die", r"(?:favour|favor|better place|easier for everyone|happier|fine|better|okay|ok|easier) if i {adv}(?:died|was dead|was gone|wasnt here|wasnt around|killed myself)",
      r"not meant to be alive", r"(?:my life|it all|everything|this life) (?:needs|has|needs|got) to end", r"wont wake up", r"(?:do not|dont) deserve to (?:live|be alive|be here)",
      r"(?:world|everyone|nobody|no one) (?:doesnt|does not) need me", r"(?:leave|leaving) this world", r"ready to die", r"by my own hand",
      r"(?:will|ll|i will) be dead (?:by|before|soon|tomorrow|tonight)", r"(?:better off|happier|better) in the ground", r"(?:hope|pray|praying|wish) (?:that )?i (?:die|dont wake|do not wake|wont wake|never wake)",
      r"want to commit(?= \| | $)", r"(?:easy way out(?! of (?:the |a |this )?(?:maze|game|level|escape room|room|test|exam|question|lesson|detention))|permanent solution|final exit|catch the bus|ctb|end my (?:story|suffering|pain)|ending my (?:story|suffering|pain))",
      r"(?:wont|will not|not going to) be (?:around|here|alive) (?:for|at|on|by) (?:christmas|my birthday|new year|easter|the summer|the holidays)",
      r"(?:wont|will not) be a (?:problem|burden) (?:much longer|for long|soon|anymore)", r"(?:disappear|vanish|go away) and never be found",
      r"rather not exist", r"(?:need|want) to not be alive", r"(?:sick|tired) of living(?= \| | $| like this| anymore| any more| my life)",
      r"if i die {g}(?:no one|nobody) (?:will|would) (?:care|notice|miss)", r"(?:be|join|go to) (?:with )?the angels", r"(?:dont|do not) belong here {g}(?:want to go|go|leave)", r"(?:want|wanna) to be gone", r"easier for everyone if i {adv}(?:wasnt|was not|werent) (?:around|here|alive)", r"ending things", r"end it for good", r"i {adv}(?:want|need|am going|am gonna|will|going|plan) (?:to )?end it",
      r"(?:thinking|thought|think|thoughts) (?:of|about) ending it", r"ending it", r"i am going to end it",
      r"kys myself", r"commit sudoku", r"sewer slide", r"sui side", r"(?:stop|end|over|gone) (?:\| )?(?:permanently|for good|forever)(?! from school| from the team| at school)", r"do myself in", r"take myself out", r"not be alive much longer"),
    E("suicide", "suicidal_thoughts", 95, r"suicide", r"suicidal", r"suicidally", anyone=True),
    E("want to die", "suicidal_thoughts", 95,
      r"(?:want|wanted|wanting|need|wish|wishing|going|gonna|ready|deserve|like|hope|choose|longing) to {adv}die",
      r"want {adv}die", r"i {adv}die", r"let me die", r"wanna die", r"(?:part of me|my brain|my head|my mind|i) {adv}wants? to die",
      r"(?:want|wish|wishing|hope|hoping|like|rather|prefer|would be better) (?:to )?(?:be|being|i was|i were|if i was|if i were|i am) {adv}(?:dead|gone|in a coffin|coffin|six feet under)",
      r"better off dead", r"i am better off dead", r"rather be dead", r"rather die", r"id rather die",
      r"wish i (?:was|were|had) (?:never been born|not born|not here|never born|never existed|dead)",
      r"wish i (?:could )?(?:just )?(?:not|never) (?:wake up|woke up|exist)",
      r"(?:want|wanted|hope|wish) to (?:go to )?sleep (?:and )?(?:forever|never wake up|not wake up)",
      r"sleep forever", r"never wake up", r"not wake up", r"dont wake up", r"never waking up",
      r"want to (?:be with|join|see) (?:my )?(?:nan|nana|grandad|grandma|granny|mum|dad|brother|sister|him|her) (?:in heaven|again|up there)",
      r"want to go too", r"be in (?:a )?coffin", r"coffin that is where i want to be"),
    E("not want to live", "suicidal_thoughts", 95,
      r"(?:dont|do not|didnt|dont even|no longer|never) {adv}(?:want|wanna|wish|feel like|wanted) (?:to )?"
      r"(?:live|be alive|be here|exist|stay alive|be living|wake up|carry on|go on|keep going|be around|"
      r"be in this world|be on this earth|live anymore|be here anymore)",
      r"dont want to b here", r"dont want to b alive",
      r"(?:no|what is the|whats the|there is no|theres no|dont see the|cant see the|lost all) {adv}"
      r"(?:point|reason|purpose) (?:in |of |to |for )?(?:me )?(?:living|being alive|live|life|being here|"
      r"existing|go on|going on|carry on|carrying on|keep going|staying alive|stay alive|keep living|me being alive|me being here|trying anymore|anything anymore)",
      r"no (?:reason|point) to (?:keep going|live|stay)",
      r"(?:tired|sick|done|finished) (?:of|with) (?:living|being alive|life|existing|being here|it all|being me|everything being alive)(?! in | at | with my| near| here in)",
      r"done with life", r"done with being alive", r"i am done with life", r"cant do life",
      r"(?:life|living) (?:is not|isnt|aint|not) worth (?:it|living)", r"not worth living",
      r"(?:want|wanna|wish i could|need to) (?:to )?(?:stop existing|not exist|disappear forever|vanish forever|stop living|stop being alive)",
      r"stop existing", r"not exist anymore", r"dont want to exist", r"hate being alive", r"hate living",
      r"want out of life", r"(?:dont|do not|cant|can not|cannot) see (?:a|any) future", r"no future for me", r"(?:not|isnt) worth it anymore", r"want out of this life", r"(?:only|one) way out is (?:to die|death|dying)",
      r"cant (?:see|find) (?:any|a|another) way out (?:except|but|apart from|other than) (?:dying|death|to die|ending it)",
      r"(?:wont|will not|cant) (?:be|stay|live) (?:alive|here) (?:much longer|for long|anymore)"),
    E("better off without me", "suicidal_thoughts", 92,
      r"(?:better|happier|easier) (?:off )?(?:without me|if i (?:was|were|wasnt|was not|werent) (?:dead|gone|here|around|alive)|when i am gone|once i am gone|if i died|if i was not here)",
      r"better without me", r"(?:no one|nobody|noone) (?:would|will|is going to|gonna) (?:miss|notice|care) (?:me )?(?:if|when) i (?:died|die|was dead|was gone|killed|kill|am gone|disappeared)",
      r"(?:no one|nobody) would care if i (?:killed|died|was gone|disappeared)",
      r"world (?:would be|is) better (?:off )?without me", r"everyone would be better if i was dead"),
    E("thoughts of dying", "suicidal_thoughts", 92,
      r"(?:think|thinking|thought|thoughts|dream|dreaming) (?:a lot )?(?:about|of) {adv}(?:dying|death|being dead|not being here|not being alive|not existing|my funeral|killing myself|suicide|ending it|ending my life|hanging myself|jumping|overdosing|taking my life|my own death)",
      r"(?:writing|planning|imagine|imagining) my (?:own )?(?:eulogy|funeral)",
      r"(?:my brain|my head|the voices|the voice) (?:wants|tells|telling|keeps telling|want) me (?:to die|dead|to kill myself|to end it)",
      r"thoughts are (?:back|getting worse|worse|louder|loud|getting louder)", r"suicidal thoughts",
      r"(?:thoughts|urges) (?:of|to) (?:end|ending|kill|killing|die|dying)",
      r"(?:easier|better|nicer|peaceful) (?:to be|being|if i was|if i were) dead",
      r"(?:tried|attempted|try) to (?:kill myself|end it|end my life|take my life|die)", r"attempted before",
      r"(?:do|doing) something stupid", r"(?:do|doing) something (?:bad|drastic) to myself"),
    E("death wish emoji", "suicidal_thoughts", 88, r"(?:want|wanna|wish|ready) (?:to )?(?:be )?(?:lolmark|coffin|grave)",
      r"coffin", r"grave(?: is where| that is where)"),

    # Plan ----------------------------------------------------------------------------------
    E("plan", "plan", 90,
      r"(?:made|have|got|worked out|figured out|decided|know|picked|chosen|planned|sorted) {adv}(?:a |the |my )?"
      r"(?:plan|method|way|how) (?:to (?:do it|end it|kill|die|go|end my)|i am going to (?:do it|end it|kill|die)|i would do it)",
      r"(?:decided|know|worked out|figured out|planned|sorted) {adv}(?:out )?(?:how|when|where) {adv}(?:i am going to|i will|i would|i can|to) (?:do it|end it|kill|die|go|end)",
      r"know exactly how", r"(?:decided|worked out|figured out) (?:exactly )?how", r"how i am going to do it",
      r"(?:got|have) it {adv}(?:all )?(?:planned|sorted|worked out|figured out)", r"planned it {adv}(?:all|out)?",
      r"(?:picked|chosen|set|decided on) (?:a |the )?(?:day|date|time)",
      r"(?:googled|searched|looked up|looking up|researching|researched|watching videos on|watched videos on|reading about|read about|reading up on|read up on|looking into|looked into|asking chatgpt|asked chatgpt) "
      r"{g}(?:how (?:to|many|much|long)|ways to|best way to|easiest way to|painless way) {gg}"
      r"(?:die|kill|hang|tie a noose|noose|bleed out|overdose|od|take|jump|drown|suicide|end it|fatal|lethal|it takes to|you need|to do it|do it properly|yourself)",
      r"(?:how many|how much) {g}(?:to die|to kill|to overdose|is lethal|is fatal|would kill|to end it|you need to take|does it take|would it take to kill)",
      r"(?:most |least )?painless way to (?:go|die|do it|end it)(?= \| | $| quick| fast)", r"how high {g}to die", r"which (?:tablets|pills|meds|medicine) would (?:work|kill|do it)",
      r"(?:going to|gonna|will) do it together", r"(?:about to|going to) do it(?= \| | $| now)", r"doing it now",
      r"(?:written|wrote|writing|leave|left|leaving) {adv}(?:a |my |the )?(?:suicide )?notes? (?:and|to|for|for my|explaining)",
      r"ive written my notes", r"written my notes", r"(?:do|doing) it (?:properly|right this time)",
      r"(?:going to|gonna|will|am) (?:do|doing) it(?= \| | $| tonight| tomorrow| this| when| after| on| before| soon| once| i)",
      r"(?:doing|do) it (?:{time})", r"it is happening {time}", r"it is happening(?= \| | $)", r"tonight is the night",
      r"i (?:am|will) do it(?= \| | $| when| after| once)", r"ready to (?:do it|go through with it|end it)",
      r"not scared anymore", r"(?:go|going) through with it", r"(?:got|have|getting) everything (?:ready|sorted|in place|planned)",
      r"(?:practised|practiced|practising|practicing|tested|testing) (?:tying|it|the knot|how)", r"(?:planning|planned) (?:this|it) for (?:weeks|months|days|ages|a while)",
      r"know which (?:bridge|building|car park|train|tablets|pills|way)", r"(?:tried|started) (?:earlier|before|last night|yesterday) but (?:i )?(?:stopped|got scared|couldnt)",
      r"do it properly (?:next time|this time)", r"know what i am going to do(?= \| | $)",
      r"(?:i am |im )?going to do it(?= \| | $)"),

    E("decided", "plan", 70,
      r"(?:have|got|made) a plan(?: now)?(?= \| | $| and i am| i am going to do)", r"made up my mind(?= \| | $| to do it| to end)", r"my mind is made up(?= \| | $)",
      r"i have decided(?= \| | $| what| that| how| when)"),

    # Means ---------------------------------------------------------------------------------
    E("medicines", "means", 40, r"{med}", r"{poison}", anyone=True),
    E("pills drawn", "means", 60, r"pills pills", r"(?:so done|done|over it|cant anymore|goodnight|night) pills"),
    E("a store of medicines", "means", 92,
      r"(?:got|have|has|saved|saving|been saving|stashed|hoarded|hoarding|collected|collecting|bought|buying|holding|stockpiled|kept|keep|kept back|hidden|hid) "
      r"{g}{qty} {g}{med}",
      r"(?:saved|saving|stashed|hoarded|hoarding|collected|stockpiled|been saving) (?:up )?(?:{my} )?{med}",
      r"(?:stash|load|pile|supply|box|bag|pack|packet|bottle|handful) of (?:{my} )?{med}(?: saved| ready| here| in| under| with| next to| hidden| open| on| in front)",
      r"(?:{qty} )?(?:{my} )?{med} {g}(?:saved|ready|lined up|hidden|in my hand|in front of me|next to me|beside me|on my bed|in my room|with me|open)",
      r"{med} {med}(?: {med})+", r"enough (?:{med}|pills|tablets) (?:saved|to)",
      r"(?:sat|sitting) here with {g}{med}", r"i have the box of tablets open", r"(?:[2-9][0-9]|1[0-9]) {med}",
      r"{med} loads of it", r"loads of it in my room", r"{med} {g}(?:all of (?:it|them)|the lot|every one|every single one)",
      r"(?:have|got|has|holding) (?:{my} )?(?:mums|dads|nans|grandads|sisters|brothers|mum s|dad s|nan s) {g}{med}",
      r"(?:have|got|has|holding|bought) {gg}{qty} {g}{med}"),
    E("a ligature, blade or weapon", "means", 90,
      r"(?:bought|got|have|found|hidden|hid|tied|made|keep|kept|holding|ready|with) {g}(?:a |the |some |my )?"
      r"(?:rope|noose|ligature|cord|belt round|belt around|razor blades?|razors?|blades?|sharpener blade|knife|knives|gun|shotgun|rifle|lighter fluid|charcoal)"
      r"(?! swing| skipping| crime| ladder| climbing| in the kitchen drawer for cooking)",
      r"(?:the |a )(?:rope|noose|cord|ligature) (?:is|ready|round|around|in|under|hidden|tied)",
      r"(?:belt|rope|cord|tie|scarf|lead|cable|something|a belt|a rope|a cord|a scarf|a tie) (?:is )?(?:round|around|tied to|tied round) (?:my )?(?:neck|the door|the banister|the beam|a beam|the loft)",
      r"(?:tie|tied|tying|put|wrap|wrapped) {g}(?:round|around) my neck", r"(?:put|had|got) the (?:belt|rope|cord|noose) on", r"already tied it",
      r"(?:rope|noose|coffin|grave|bridge|railway|train) (?:coffin |grave )*(?:soon|tonight|now|it is over|its over)", r"(?:garage|car) {g}(?:with the )?(?:engine|car) running", r"(?:cord|belt) (?:off|from) my (?:dressing gown|robe|bag)",
      r"(?:knife|blade|razor|gun) (?:is )?(?:in my hand|under my pillow|in my pencil case|in my bag|next to me|with me|ready)",
      r"(?:where|know where) (?:my )?(?:dad|mum|he|they|my stepdad|my uncle)? ?(?:keeps|keep|hides|hide) (?:his |her |their |the )?(?:gun|shotgun|pills|tablets|meds|knives|razors|rope|{med})",
      r"knife it is in my hand", r"knife {g}in my hand", r"bottle of bleach in front of me", r"{poison} in front of me",
      r"(?:ready|got|have) {g}(?:rope|cord|noose)"),
    E("a place to jump or fall", "means", 70,
      r"(?:on|at|stood on|standing on|sat on|sitting on|on top of|at the top of|at the edge of|near|by|under|over|looking at|looking over|keep looking at) (?:the |a |this |that )?{place}(?! terrace| garden| bar| trip| party)",
      r"(?:station|platform) {g}(?:jump|step off|throw|train coming|in front)", r"by the river", r"at the (?:train )?station",
      r"(?:going to|on my way to|walking to|heading to|off to|headed to|driving to|cycling to) (?:the |a )?{place}(?! terrace| garden| bar| trip| party| with| for a)",
      r"(?:top of|on top of|roof of) (?:the |a )?(?:car park|multi storey|flats|building|block|tower)", anyone=True),
    E("at a place to jump", "means", 90,
      r"(?:i am|i have been|i was|i) (?:on|stood on|standing on|sat on|sitting on|at the edge of|on the edge of|on top of|at the top of|up on|lying on|laying on) (?:the |a |this )?"
      r"(?:bridge|railway line|railway|train tracks|railway tracks|the tracks|tracks|train line|roof|rooftop|cliff|cliff edge|edge of (?:the |a )?(?:cliff|bridge|roof|building|platform|car park|balcony|tracks)|ledge|balcony edge|top of the car park|car park roof|multi storey|top of the flats|viaduct)"
      r"(?! terrace| garden| bar| trip| party| of the shed| of the bus stop| of the garage| of the car| of my shed| of the playhouse| of the treehouse)",
      r"(?:{place}|car park|station|flats|building|roof) {gg}(?:jump|jumping|step off|go in|throw myself|fall|let go)",
      r"(?:jump|jumping|step off|throw myself|let go) {gg}(?:{place}|car park|flats|building|roof)", r"in front of (?:a |the )?(?:train|bus|lorry|car|truck)"),
    E("a way to die", "means", 95,
      r"(?:hang|hanging|hanged) myself", r"(?:going to|gonna|will|want to|wanna|thinking of|thinking about|think about|keep thinking about|thought about|plan to) hang(?:ing)?(?: myself)?",
      r"thinking about hanging", r"tie a noose", r"(?:want to|going to|gonna|about to|ready to|i will) jump(?= \| | $| off| from| in front)",
      r"(?:jump|step|throw myself|walk|run) in front of (?:something|anything|a train|a bus|a car|a lorry|traffic)", r"(?:drown|drowning|drowned) myself", r"(?:jump|jumping|throw myself|step|stepping|walk|walking|lie|lying|lay) "
      r"(?:off|from|in front of|under|into|onto|on) {g}(?:{place}|train|bus|lorry|car|traffic|road|building|flats|block|something high|the top|balcony|window|sea|river|canal|water|roof|tracks)",
      r"(?:jump|jumping) (?:off|from) (?:something|somewhere) (?:high|tall)",
      r"(?:cut|cutting|slit|slitting|slash|slashing) (?:my )?(?:wrists?|throat|arteries|artery|veins?)",
      r"(?:drink|drinking|drank|swallow|swallowing|swallowed|take|taking|took) {g}{poison}", r"drink {poison}",
      r"(?:bag|plastic bag) over my head", r"(?:step|stepping|walk|walking|run|running) (?:out )?in front of",
      r"walk into the sea", r"(?:shoot|shooting) myself", r"(?:strangle|strangling|choke|choking|suffocate|suffocating|smother|smothering) myself",
      r"(?:swallow|swallowing|eat|eating) {g}(?:razor blades|blades|glass|batteries|bleach)", r"(?:going to|gonna|want to|wanna|will|about to) drown",
      r"(?:going to|gonna|will|want to|wanna|about to) (?:take|swallow|neck|down) (?:all )?(?:of )?(?:my )?(?:mums|dads|nans|grandads|sisters|brothers|mum s|dad s|nan s) {g}{med}", r"(?:gas|gassing) myself",
      r"(?:crash|crashing) (?:the|my|a) car", r"(?:bleed|bleeding) out", r"(?:set|setting) myself on fire",
      r"(?:throw|throwing) myself (?:off|in front|under|from|into)"),
    E("taking it all", "means", 95,
      r"(?:going to|gonna|will|want to|wanna|need to|about to|thinking of|thinking about|thought about|plan to|planning to|keep thinking about|feel like) "
      r"(?:take|taking|swallow|swallowing|down|downing|neck|necking|have) {g}(?:{qty}|them all|all of them|everything|the lot|every one|loads) {g}(?:{med}|them|it|of it|of them|in the house|in the cupboard|in the cabinet|in the medicine cabinet)?",
      r"(?:take|taking|swallow|swallowing) (?:them|it) all", r"(?:take|taking|swallow) {g}(?:whole|entire) (?:packet|box|bottle|pack|strip)",
      r"(?:going to|gonna|will|want to|wanna|thinking of|thinking about|thought about|plan to|planning to) (?:take |have |do |taking |having |doing )?(?:an |a )?(?:overdose|overdosing)",
      r"(?:take|taking|swallow|swallowing) {g}{med} {g}(?:all of them|all of it|the lot|every one|all)",
      r"(?:going to|gonna|want to|wanna|will|plan to) overdose", r"overdose on (?:my )?(?:{med}|meds|them)",
      r"(?:take|taking|swallow|swallowing) (?:my |the |her |his |mums |dads |all the )?{med} {g}(?:all|all of them|tonight|at once|together|in one go|with vodka|with alcohol)",
      r"(?:taking|take|swallow) (?:the )?{med} tonight", r"(?:the )?{med} (?:are|is) ready", r"tonight i am taking everything",
      r"(?:take|taking) (?:them|it|the pills|the tablets) (?:{time})", r"pills (?:pills )*i am going to take them",
      r"am going to take them all", r"all of them tonight", r"them all tonight"),

    # Timeframe: only ever raises something else ---------------------------------------------
    E("timeframe", "timeframe", 20,
      r"{time}", r"(?:by|before|after) (?:tomorrow|tonight|the weekend|monday|friday|the morning|morning)",
      r"(?:this|next|on) (?:weekend|week|monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
      r"set a date", r"when everyone(?: s| is)? (?:out|asleep|in bed|gone)", r"once (?:mum|dad|everyone|they) (?:goes|go|is|are|leave|leaves)"),

    # Goodbye and finality -------------------------------------------------------------------
    E("goodbye", "goodbye", 92,
      r"(?:this is|here is|that is) (?:my )?(?:goodbye|my last message|the last message|my last|the end|the last time)",
      r"last (?:message|text|time (?:you|anyone) (?:will )?(?:hear|see|talk))", r"my last message",
      r"(?:said|say|saying|given|given all) {adv}(?:my |our |all my |a final |my last |my final |last |final )?goodbyes?(?! to my (?:friends )?(?:before|at|when) (?:i )?(?:move|moving|leave|the))",
      r"said (?:goodbye|bye) to (?:everyone|my best friend|people|my family|my mum|my friends|my dog)(?! (?:at|before|and then|because|when|as) (?:the|we|i)|$)",
      r"(?:written|wrote|writing|left|leaving) {adv}(?:a |my |the )?(?:letters?|notes?|messages?) (?:to|for) (?:my )?(?:family|mum|dad|everyone|friends|parents|sister|brother|nan)",
      r"(?:written|wrote) (?:my )?(?:suicide )?(?:note|notes|letters)", r"suicide note",
      r"(?:given|gave|giving) (?:away )?(?:all )?(?:my )?(?:stuff|things|belongings|possessions|clothes|dog|cat|pet|games|xbox|phone) "
      r"(?:away|to)(?! charity)",
      r"(?:tell|let) (?:my )?(?:mum|dad|family|parents|sister|brother|nan|friends|everyone) (?:i love|that i love|i am sorry|im sorry|sorry)",
      r"made (?:my )?peace", r"(?:thank you|thanks) for everything (?:you (?:did|have done|ve done))? {g}(?:this is it|goodbye|bye)", r"this is it(?= \| | $)",
      r"after (?:tonight|today|this) {g}(?:wont|will not|never) (?:have to )?(?:worry|see|hear)", r"(?:sorted|written|wrote|made) (?:out )?my will", r"tell everyone i am sorry",
      r"sorry for everything", r"sorry for being (?:a burden|such a burden|me|like this)",
      r"(?:make sure|please look after|take care of|look after) my (?:cat|dog|pet|hamster|rabbit|little brother|little sister|sister|brother) {g}(?:looked after|is ok|for me|when i am gone|after i am gone)?(?= \| | $)",
      r"(?:left|leaving) (?:a |my )?(?:note|notes|letter|letters) (?:on|in|under|for|by)", r"(?:been )?nice knowing (?:you|everyone|u)",
      r"(?:thank|thanks|thank you) {g}before i go", r"(?:this is|its|it is) the end for me", r"said sorry to everyone",
      r"(?:wont|will not|not going to|wont be|not gonna) {adv}(?:be )?(?:here|around|alive) (?:tomorrow|much longer|for much longer|for long|anymore|by|after|next|in the morning)",
      r"(?:you|anyone|nobody|no one) (?:wont|will not|will never|will not ever) (?:hear from|see|talk to) me again",
      r"by the time (?:anyone|you|they|someone|my mum|my dad) (?:reads|read|sees|see|finds|find) (?:this|me)",
      r"(?:it|this|everything|all this) (?:will|is going to|gonna|is gonna) be over soon", r"(?:over|finished|done) soon(?= \| | $| i)",
      r"(?:it is|its) (?:nearly|almost) over", r"at peace with it", r"made my decision", r"before i go(?! to| out| home| on)",
      r"(?:ready|time) to go(?= \| | $| now)", r"i am ready now", r"bye forever", r"goodbye forever",
      r"(?:goodbye|bye) (?:everyone|all|world|cruel world|to everyone|to all)", r"love you all {g}(?:bye|goodbye)",
      r"(?:thank you|thanks) (?:for everything|for trying|for listening|for being there) {g}(?:goodbye|bye|wave)",
      r"(?:goodbye|bye) {g}(?:\| )?(?:thank you|thanks) for (?:everything|trying|listening|being)",
      r"(?:thank you|thanks) for (?:everything|trying|listening|being there) (?:\| )?(?:goodbye|bye|wave)",
      r"love you all (?:\| )?(?:bye|goodbye)", r"(?:thank you|thanks) and (?:goodbye|bye)",
      r"wont be a (?:problem|burden) (?:for|to) (?:anyone|anybody|you|them|my family) (?:soon|anymore|much longer)",
      r"soon i (?:wont|will not) be a (?:problem|burden)", r"deleted (?:all )?(?:my )?(?:social media|accounts|insta|snapchat)",
      r"sorted (?:everything|it all|all my stuff) (?:out )?so (?:nobody|no one|they|my mum)",
      r"(?:i have )?sorted it(?= \| | $)", r"wanted (?:to )?say (?:bye|goodbye)",
      r"(?:just )?(?:wanted|want) (?:someone|somebody) to know before",
      r"(?:not|never) (?:going to be|gonna be) (?:here|around) (?:for )?(?:much )?(?:longer|long)"),

    # Self-harm: acts, injury, urges ---------------------------------------------------------
    E("self-harm", "self_harm", 65,
      r"self harm(?:ing|ed|s)?", r"self injur(?:y|e|ing)", r"(?:i|me|my|on|from|clean from|relapsed on|relapse|urge to|urges to|do|did|doing) sh",
      r"sh (?:again|scars|urges|relapse)", r"(?:i|been|do|did|doing|on|from|relapsed on) s h", r"(?:cut|cutting|cuts|cutted|slice|slicing|scratch|scratching|scratched|burn|burnt|burning|burned|hit|hitting|hurt|hurting|harm|harming|punch|punching|bite|biting|carve|carving|bruise|bruising|starve|starving|punish|punishing) {adv}myself",
      r"(?:cut|cutting|cuts|scars|scar|marks|slice|slicing|sliced|slashed|slashing|scratch|scratching|scratched|carve|carving|carved|burn|burning|scrape|scraping|scraped) (?:on |up |into |at )?(?:my )?(?:arms?|wrists?|legs?|thighs?|stomach|hips?|skin|body)(?! off)",
      r"(?:used|use|using) (?:a |my )?(?:razor|blade|knife|compass|sharpener|scissors|lighter) on (?:my )?(?:arm|arms|leg|legs|wrist|wrists|skin|thigh|thighs|myself|stomach)",
      r"(?:with|using) (?:my |a )?(?:compass|sharpener|pencil sharpener|razor|blade|scissors|glass|lighter) {g}(?:myself|my arm|my arms|my leg|my legs|my skin|my wrist)",
      r"(?:my )?(?:arms?|wrists?|legs?|thighs?) (?:are|is) (?:covered in|full of) (?:scars|cuts|marks)",
      r"(?:started|start|keep|kept|been|want to|wanna|need to|urge to|urges to|urge|the urge to) (?:cutting|cut|hurting myself|self harming|burning myself|harming myself)(?! my hair| the| onions| class| school| it| out| off| back)",
      r"(?:hide|hiding|cover|covering) (?:my )?(?:self harm |sh )?(?:scars|cuts|marks)", r"(?:found|saw|seen) my (?:cuts|scars)",
      r"(?:pull|pulling) my hair out", r"(?:bang|banging|hit|hitting) my head (?:on|against) (?:the |a )?wall",
      r"punch(?:ing)? (?:the )?walls? (?:until|till|so)", r"(?:pick|picking) (?:at )?my skin (?:until|till)",
      r"(?:until|till) (?:it|they) bleeds?", r"deserve (?:to be hurt|pain|to hurt|to suffer)",
      r"(?:relapsed|relapse)(?! on (?:vaping|smoking|weed|drinking))", r"weeks? clean", r"months? clean", r"days clean",
      r"(?:take|taking|took) (?:a few )?extra (?:pills|tablets|meds) (?:sometimes )?(?:to|just to) (?:feel|numb|sleep|stop)",
      anyone=True),
    E("injury now", "self_harm", 95,
      r"(?:wont|will not|doesnt|does not|cant|cannot|can not|wont ever) stop bleeding", r"blood everywhere",
      r"(?:so much|lots of|loads of|a lot of) blood", r"(?:need|needs|might need) (?:stitches|hospital|an ambulance)",
      r"cut (?:too |really |very |so )?deep", r"(?:too|really|very|so) deep", r"deeper and deeper", r"cut my (?:arm|wrist|leg|thigh) open",
      r"(?:can|could) see (?:the )?(?:fat|bone|white)", r"blistering", r"(?:gushing|pouring out|spurting|gaping|skin has come off)",
      r"(?:feel|feeling) (?:faint|dizzy|like passing out)", r"(?:need|go to|going to) (?:a and e|a&e|hospital|the hospital) {gg}(?:cut|cutting|did to|took|taken|arm|wrist|leg)",
      r"(?:cut|cutting|did to|took|taken) {gg}(?:need|go to|going to) (?:a and e|a&e|hospital|the hospital)", r"(?:cant|can not) feel my (?:fingers|hand|arm) after",
      r"(?:wide open|wont close|will not close)", r"(?:stomach|tummy) {g}hurts {gg}(?:tablets|pills|took|taken)", r"(?:throwing|throw|threw) up since i took",
      r"(?:ears|ear) (?:are |is )?ringing {gg}(?:took|taken|aspirin|tablets|pills)", r"drowsy {gg}(?:took|taken)", r"(?:cut|cutting|bleeding|blood) {gg}(?:cant|cannot|can not) (?:make|get) it (?:to )?stop", r"(?:bleeding|bleed) (?:a lot|loads|badly|heavily|everywhere|so much)",
      r"(?:cut|cutting|hurting|harming|burning|burnt|burned) {adv}myself (?:right now|now|really badly|badly|loads|bad|deep|so bad)",
      r"(?:i am )?(?:cutting|hurting myself|harming myself) (?:right now|now|as we speak)", r"doing it right now",
      r"(?:blood|knife) blood", r"blood (?:blood|knife)", r"knife blood", r"hurt myself (?:bad|badly|really bad)",
      r"in the bathroom cutting", r"done something to myself", r"(?:it is|its) (?:bad|really bad|worse) this time", r"and it is (?:bad|really bad)(?= \| | $)",
      r"(?:hit|banged|bashed|smashed) my head {g}(?:until|till) it (?:bled|bleeds)",
      r"(?:soaked|soaking|bled) (?:through )?(?:the |my |a )?(?:towel|towels|tissue|tissues|plaster|plasters|bandage|bandages|sheets|sleeve|hoodie)",
      r"(?:cut|cutting|cuts|bleeding|blood) {gg}(?:not|isnt|wont|will not|doesnt|does not) (?:stop|stopping)"),
    E("overdose taken", "self_harm", 97,
      r"(?:took|taken|swallowed|had|necked|downed|drank|drunk|ate|have had) {g}(?:{qty}|too many) {g}(?:{med}|overdose)",
      r"(?:took|taken|swallowed|necked|downed) {g}(?:{med}|them) {g}(?:on purpose|to die|to end it|and i feel|and now|an hour ago|last night|all)",
      r"(?:took|taken|swallowed|necked|downed|had|have had) (?:all|everything|the lot|them all|all of them|loads|a load|a lot|a bunch|too much|too many)",
      r"(?:i )?(?:took|taken|had|did|have done) (?:an |a )?(?:overdose|od)", r"overdosed", r"(?:i )?overdosed",
      r"already taken them", r"(?:took|taken|swallowed|drank|drunk|had) {gg}{poison}",
      r"(?:took|taken|swallowed|necked|had) {g}(?:{med}) {g}(?:and|with) (?:vodka|alcohol|wine|drink)",
      r"(?:took|taken|swallowed) (?:like |about |over )?(?:[1-9][0-9]|eight|nine|ten|twelve|fifteen|sixteen|twenty|thirty|forty)", anyone=True),

    # Danger from another person now ------------------------------------------------------------
    E("being hurt now", "danger_now", 95,
      r"(?:is|are|keeps|keep|started|has been|have been|been|wont stop|wouldnt stop) {adv}(?:hitting|beating|hurting|kicking|punching|strangling|choking|attacking|smacking|slapping|touching|raping|grabbing|dragging) (?:me|my mum|us|my sister|my brother)(?! in the game| in fortnite)",
      r"(?:hitting|beating|hurting|choking|strangling) (?:me|my mum|us) (?:right now|now)",
      r"(?:going to|gonna|will|is going to|said (?:he|she|they) (?:will|would|is going to|would)|says (?:he|she|they) (?:will|would|is going to)|threatened to|threatening to|is threatening to|wants to|coming to) {adv}(?:hurt|hit|beat|stab|shoot|batter|kick|punch|strangle|choke|rape|smack|attack|burn|drown|murder|jump|knife|shank|get|do) (?:me|us|my mum|my family|my sister|my brother)(?: up| in)?(?! in the game| in fortnite| in minecraft)",
      r"(?:threatened|threatening) (?:me )?with (?:a )?(?:knife|gun|weapon|bat|hammer)",
      r"(?:is|are) (?:waiting|outside|standing|hanging around|stood) {gg}(?:with|holding|has|got) (?:a |his |her |their )?(?:knife|gun|machete|weapon|bat|blade)",
      r"(?:he|she|they|them|someone|somebody|man|guy|lad|lads|boy|boys|girls|gang|men|dad|stepdad|stepmum|step mum|mum|sister|brother|uncle|aunt|auntie|partner|boyfriend|one of them) {g}(?:has|have|got|is holding|holding|carrying|pulled out|pulled|with) (?:a |his |her |their )?(?:knife|gun|weapon|bat|hammer|machete|blade|scissors|broken bottle)(?! for (?:the )?(?:bbq|cooking|dinner|food|cake|veg|carving))",
      r"(?:is|are|has been|have been|keeps|keep|been|started) (?:following|chasing|watching) me", r"(?:following|followed|chasing) me (?:home|right now|now|since|everywhere)",
      r"(?:dont|do not) know where i am",
      r"(?:dad|stepdad|mum|partner|boyfriend|brother|uncle|he|she) (?:is|s) (?:drunk|high|off his head|kicking off|going mad|going crazy|raging|smashing)",
      r"smashing (?:things|the house|stuff|the place|everything)", r"(?:screaming|shouting|saying) that (?:he|she|they) (?:will|ll|is going to|are going to) kill",
      r"(?:trying to|tried to) (?:get|break) (?:in|into)", r"(?:banging|kicking|pounding) on (?:the|my) (?:door|window)",
      r"(?:outside|at) (?:my|the) (?:house|door|window|school|flat|room) {g}(?:and|wont|will not|waiting|wants|watching|he|she|they)",
      r"(?:someone|somebody|a man|a guy|he|they|a car|some men|a van) (?:is |are |has been |have been |keeps |keep )?(?:following|followed|chasing|watching) me",
      r"(?:hiding|hid) (?:in|under|from|behind) {g}(?:he|she|they|him|her|them|looking for me|coming)",
      r"(?:hiding|hid) (?:in|under) (?:the |my )?(?:bathroom|wardrobe|bed|cupboard|room)",
      r"locked (?:me )?(?:in|out)(?! of my account| of my phone)", r"wont let me (?:out|leave|go)",
      r"(?:not|dont feel|never) safe (?:at home |here |where i am |right now |tonight )?(?:right now|now|tonight|here|where i am)",
      r"(?:i am )?not safe(?= \| | $| at home right| right| tonight| here| where)", r"scared for my life", r"fear for my life",
      r"(?:he|she|they|it) (?:is|s) (?:coming|on (?:his|her|their) way) (?:for me|to get me|back|home|upstairs|in)",
      r"(?:come|coming) for me", r"(?:he|she|they) (?:is|are|s) still here", r"(?:threw|pushed|dragged|pinned|held) me (?:down|against|into|out|up)",
      r"(?:strangled|choked|stabbed|raped|attacked|kidnapped) me", r"(?:dont|do not) know where (?:he|she|they) (?:is|are) taking me",
      r"in a car with (?:a )?(?:man|guy|stranger|someone) i (?:dont|do not) know", r"(?:kicked|thrown|chucked) (?:me )?out {g}(?:nowhere|no where)",
      r"nowhere to (?:sleep|go|stay) tonight", r"ran away {gg}(?:dark|dont know where|nowhere|lost)",
      r"(?:making|made|make|forcing|forced) me (?:deliver|carry|sell|hold|move|run) (?:stuff|drugs|things|packages|bags)",
      r"(?:if i (?:tell|told|go to|went to|say|said) (?:anyone|anybody|the police|police|a teacher|my mum|my dad|someone)) {gg}(?:kill|hurt|stab|beat|get|do) (?:me|my)",
      r"(?:hit|hurt|beat|kicked|punched|slapped|strangled|choked) me {g}(?:tonight|today|just now|again|right now|twice|already)",
      r"(?:kill|hurt|stab|beat|get) (?:me|us|my family|my mum) if i (?:tell|told|go to|went to|stop|say|said)",
      r"keeps coming into my room at night", r"(?:do what (?:they|he|she) (?:say|says|tell|tells)|or else) {g}(?:they|he|she) (?:will|ll|are going to|is going to) (?:hurt|kill|hit|stab|get) (?:my|me)",
      r"(?:making|make|made) me (?:sleep with|have sex with|do stuff with|do things with)", r"(?:hear|heard) (?:him|her|them|someone|my dad|my stepdad) (?:coming|on the stairs|outside|at the door|downstairs)",
      r"(?:hands|hand|arm) (?:round|around) my (?:neck|throat)", r"(?:wont|will not|doesnt|does not) let me (?:leave|go|out|go home|out of)",
      r"(?:someone|somebody|a man|a stranger|some men) (?:is |s )?in (?:the|my) (?:house|flat|room|garden)", r"(?:scared|afraid|terrified|frightened) (?:he|she|they) (?:is going to|will|ll|are going to|might|is gonna) (?:kill|hurt|hit|rape) me",
      r"(?:spiked|drugged)", r"(?:raped|sexually assaulted|assaulted) (?:me )?(?:last night|yesterday|today|tonight|this morning|just now|at the party|earlier)",
      r"(?:run away|ran away|kicked out|homeless) {gg}(?:sleeping|sleep) (?:at|in|on|outside|rough)", r"sleeping rough",
      r"(?:hit|hurt|punched|slapped|beat|grabbed|attacked|kicked|beat me up|beat up|jumped) (?:me )?{ggg}(?:still|is|are) (?:here|outside|around|shouting|in the house|downstairs|there|looking|following)",
      r"(?:hit|hurt|punched|slapped|beat) me {gg}(?:outside|here|coming|on his way|waiting)", r"(?:threw|thrown|chucked|hit me with|smashed) {gg}(?:at me|me) {gg}(?:bleeding|blood|cut|hurt)",
      r"(?:threw|thrown|chucked) {g}at me {gg}(?:bleeding|blood)", r"(?:burn|set fire to) the house {g}(?:with (?:us|me) in it|down)",
      r"(?:trying|tried|keeps trying) the door", r"locked in (?:the |a )?(?:shed|garage|cupboard|cellar|basement|room|car|boot)", r"(?:says|said|say|saying) (?:he|she|they) (?:will|would|is going to|are going to|is gonna) do (?:worse|it again|the same|more)", r"(?:someone|somebody|a man|he|they|the man) i met online is (?:outside|here|at my)",
      r"knows where i live {g}(?:here|outside|coming)", r"(?:i am |im )?scared (?:he|she|they) (?:will|ll|is going to|are going to) (?:come|hurt|hit|kill|do it)",
      r"(?:it|they|he|she) (?:will|is going to) happen again tonight", r"(?:hit|hurt|beat) me with (?:a |his |her )?(?:belt|bat|stick|hammer|shoe|cable|lead)",
      jokable=False),
    E("threat to kill", "danger_now", 60,
      r"(?:he|she|they|my dad|my mum|my stepdad|my brother|my sister|dad|mum|my parents|parents|someone) (?:is|are|will|s|ll|would|wants to|going to|is going to|are going to|gonna|said|says|will actually|is gonna) {g}(?:kill|murder|hurt|batter|beat) (?:me|us)"),
    E("harm at home", "danger_now", 60,
      r"(?:hits|hit|hurts|hurt|beats|beat|kicks|kicked|punches|punched|slaps|slapped|smacks|smacked|chokes|choked|strangles|strangled|shoved|pushed|threw|throws|grabbed|grabs) me(?! in the game| in fortnite| with the ball| by accident| accidentally)",
      r"(?:get|got|getting) (?:hit|beaten|hurt|slapped|smacked|kicked) (?:at home|by my|by him|by her|by them|a lot|all the time|every)",
      r"(?:dont|do not|never) feel safe (?:at home|at school|around him|around her|with him|with them|here)",
      r"(?:scared|afraid|frightened|terrified) of (?:my )?(?:dad|mum|stepdad|stepmum|step dad|brother|uncle|him|her|them|his boyfriend|her boyfriend|mums boyfriend)",
      r"(?:shouts|screams) and (?:throws|hits|breaks|smashes)", r"throws things",
      r"(?:touched|touches|touching) me(?! by accident)", r"(?:forced|made|makes|forcing) me (?:to )?(?:do|have) (?:stuff|things|sex|sexual)",
      r"(?:something|stuff) happened at (?:a |the )?(?:party|sleepover|his house|their house)",
      r"(?:lock|locked|locks) me out", r"(?:fighting|arguing|shouting|screaming) at home {g}(?:scared|frightened|afraid)", r"i (?:got|get|was|have been|been) (?:beaten|beat|jumped) up", r"(?:was|been|got) (?:forced|made|pressured) to (?:do|have) (?:stuff|things|sex|sexual)", r"(?:said|say|says) (?:they will|theyll|they are going to|they re going to) (?:beat|batter|jump|get) me",
      r"(?:carry|deliver|hold|sell) (?:stuff|drugs|things|packages) for (?:older|them|some)", r"(?:i )?owe (?:them|him|some people) money",
      r"(?:raped|abused|molested|sexually assaulted) (?:me)?", r"i was (?:raped|abused|molested|assaulted)", r"makes? me (?:feel )?(?:uncomfortable|scared|unsafe)",
      r"(?:always|really|so) drunk", r"(?:drinks|drink|drinking) (?:every|all the) (?:night|day|time)", r"(?:takes|taking|on) drugs",
      r"(?:never|no|isnt any|is not any|there is never any) (?:any )?food (?:in the house|at home)", r"(?:parents|mum|dad) (?:are|is) never (?:home|here|around)",
      r"(?:hits|hit|hurts|beats|beat) my (?:mum|mom|mam|sister|brother)", r"going to run away", r"(?:kick|kicked|throw|thrown) me out (?:if|when)",
      jokable=False),

    # Sextortion ------------------------------------------------------------------------------
    E("threat to share images", "sextortion", 92,
      r"(?:going to|gonna|will|would|threatening to|threatened to|threaten to|says (?:he|she|they)(?: will| ll| is going to| are going to)?|said (?:he|she|they)(?: will| would| ll| is going to| are going to)?|wants to|is going to|are going to|if i dont|unless i|or (?:he|she|they) (?:will|ll))"
      r" {g}{share} {g}(?:my|mine|me|the|them|it|those|these|everything|everyone|everybody|people|all)",
      r"(?:{share}) (?:my |the |those |these |them |it )?{g}{pics} {g}(?:unless|if i dont|if i do not|or else)",
      r"(?:blackmail|blackmailing|blackmailed|sextort|sextorting|sextorted|sextortion|extorting|extorted)",
      r"(?:threatening|threatened|threaten) (?:to )?(?:expose|leak|share|post|ruin|send)", r"(?:expose|ruin) me if i",
      r"(?:has|have|got|still has) (?:my )?{pics} {g}(?:and|says|said|threatening|wants|keeps asking|asking for)",
      r"(?:has|have|got) my {pics} {g}(?:send|share|post|money|pay|more)",
      r"(?:recorded|screenshotted|screenshot|screen recorded|filmed) me {g}(?:and|now|said|says|threat|want|post|share|send|leak)",
      r"(?:if i block|if i dont reply|if i tell) {g}(?:post|share|send|leak|expose)", r"everyone (?:will )?sees? my (?:pictures|pics|photos|nudes|video)",
      r"(?:demanding|demand|want|wants|asking for) {g}(?:or|else) (?:my |the )?(?:mum|dad|family|school|friends|everyone|followers) (?:gets|get|sees|see|will see|will get)",
      r"(?:make|making) my {pics} (?:go )?viral", r"(?:go|goes|going) viral (?:if|unless)",
      r"(?:ruin|destroy|end) my (?:life|reputation) with (?:my|the|those) {pics}", r"(?:tag|tagging|send it to|show it to) (?:my )?(?:family|mum|dad|friends|school|followers) {g}(?:unless|if i dont|or)",
      r"(?:edited|photoshopped|put) my face (?:on|onto|into) {g}(?:nude|naked|porn)", r"(?:ai|fake) (?:nudes|naked pics) of me"),
    E("demand for money or images", "sextortion", 75,
      r"(?:want|wants|wanted|demanding|demands|asking for|asked for|asks for|keep asking for|keeps asking for|need to pay|have to pay|pay|paid|send) {g}(?:money|£ ?[0-9]+|[0-9]+ ?(?:pounds|quid|£|dollars)|gift cards?|giftcards?|bitcoin|crypto|amazon vouchers|steam cards|robux|more (?:pics|pictures|photos|videos|nudes|of me))",
      r"£[0-9]+", r"(?:[0-9]+ hours|24 hours|an hour|tonight) to pay", r"(?:send|sending) more (?:pics|pictures|photos|videos|nudes)",
      r"they want money", r"(?:or|else) (?:he|she|they|everyone) {g}(?:see|sees|send|share|post)", jokable=False),
    E("pressure for images", "sextortion", 60,
      r"(?:asking|asked|asks|ask|pressuring|pressured|pressure|keeps|keep|begging|wants|want|wanted|make|made|making|demanding) "
      r"{g}(?:for )?(?:me )?(?:to )?(?:send )?(?:a |some |me )?(?:nudes|nude|nude pics|pics of me|pictures of me|photos of me|naked pics|naked photos|sexy pics|pics|pictures|photos|videos of me|sexts|a video)",
      r"(?:sent|send|sending) (?:a |my |some |him |her |them )?(?:nudes?|naked (?:pics|photos|pictures)|nude (?:pics|photos|pictures))",
      r"(?:my )?(?:nudes|pics|pictures|photos|video|nude) (?:is|are|got|have been|has been) (?:going round|shared|leaked|posted|sent round|out)",
      r"(?:shared|leaked|posted|screenshotted|screenshot) my (?:nudes|pics|pic|pictures|photos|nude|video)",
      r"(?:my ex|he|she|they|someone) (?:has|have|still has|got) (?:my )?(?:nudes|pics|pictures|photos|nude pics)",
      r"(?:has|have|got|still has|kept) (?:a |some |the )?(?:video|videos|pics|pictures|photos|nudes|recording|screenshots|clip) of me",
      r"(?:fake|copy) account (?:with|of|using) my (?:photos|pics|pictures)", r"recorded me(?= \| | $)",
      r"(?:know|knows|found|found out) (?:my school|where i live|my family|my address|my parents|who my)", r"if i (?:loved|love|liked|like) (?:him|her|them) {g}(?:send|sent)",
      r"(?:money|paying|pay|paid|robux|gift cards?) (?:me )?for (?:pics|pictures|photos|videos|nudes|pictures of)", r"scared (?:it|they|the pics|the photo) (?:will|ll|might) (?:get )?(?:shared|leaked|posted|sent)"),

    # Grooming ---------------------------------------------------------------------------------
    E("meeting an adult", "grooming", 90,
      r"(?:meet|meeting|meet up|meet me|pick me up|picking me up|pick up|come and get me|coming to get me|send (?:an |a )?(?:uber|taxi|car)|sending (?:an |a )?(?:uber|taxi|car)|booked (?:a )?(?:hotel|room)|come to (?:his|my|her) (?:house|flat|place|room|hotel)|get the train to|run away with|stay at his|stay the night|coming to my town|coming to see me) "
      r"{gg}(?:secret|dont tell|not to tell|without telling|our secret|no one (?:can|can not|must) know|not (?:to )?bring anyone|on my own|alone|nobody knows)",
      r"(?:he|him|the man|the guy|this man|this guy|a man|a guy) {gg}(?:run away with|stay the night|booked (?:a )?(?:hotel|room)|come to his (?:house|flat|place|hotel)|"
      r"get the train to his|pick me up|picking me up|meet me|meet up|meet in|come and get me|coming to get me) {gg}(?:tonight|tomorrow|this weekend|after school|on (?:friday|saturday|sunday))",
      r"(?:secret|dont tell|not to tell|our secret|nobody|no one) {gg}(?:meet|meeting|pick me up|picking me up|come and get|hotel|run away|his house|his flat|his place)",
      r"(?:online (?:boyfriend|girlfriend|friend)|from (?:discord|snapchat|instagram|tiktok|roblox|fortnite|the game|online)|i met online|i game with|older) {gg}(?:meet|pick me up|picking me up|come to|coming to|hotel|uber|taxi|train to|his flat|his house)",
      r"(?:[2-6][0-9] year old|older man|grown man|adult) {gg}(?:meeting|meet|pick me up|picking me up) {gg}(?:secret|dont tell|not to tell|tonight|tomorrow|after school)",
      r"(?:get|getting) in his car {gg}(?:dont tell|not tell|not to tell|secret|nobody|no one|anyone)",
      r"(?:uber|taxi|car) to (?:get|pick up|collect) me", r"booked a hotel", r"(?:booked|bought|sent|paid for) me (?:a )?(?:train ticket|ticket|tickets|taxi|uber|bus ticket|coach ticket|flight)", r"(?:he is|hes|he s|is) [2-6][0-9] {gg}(?:meet|pick|pick me up|come|coming|school)",
      r"(?:meet|meeting|meet up with) {gg}(?:from discord|from snapchat|from instagram|from tiktok|from roblox|from the game|i met online|online|older|he is [2-6][0-9]|he is older|who is older)"),
    E("asked to meet", "grooming", 60, r"(?:asked|asks|wants|keeps asking|keep asking|begging) (?:me )?to meet", r"wants to meet (?:me|up)"),
    E("asked for secrecy", "grooming", 45,
      r"(?:keep|keeping|its|it is|our|a|be) {g}secret(?! santa| surprise| party| birthday)", r"(?:dont|do not|not to|never|shouldnt|should not|mustnt) tell (?:your|my|anyone|anybody|ur|the) {g}(?:parents|mum|dad|family|teachers|anyone|about (?:us|him|me|this|our))",
      r"(?:delete|deleting|deleted) (?:our|the|all the|his) (?:messages|chats|texts|conversations|dms)",
      r"(?:wouldnt|would not|wont|will not|dont|do not) understand (?:about )?(?:him|us|our)"),
    E("an adult's attention", "grooming", 45,
      r"(?:older|grown up|adult) (?:man|guy|bloke|boy|person|woman|lady)", r"(?:he is|hes|he s|she is|they are|is) (?:1[8-9]|[2-6][0-9])(?! minutes| mins| quid| pounds| percent)",
      r"(?:man|guy|someone|person|he|adult|woman|lady) (?:i met|from) (?:online|discord|snapchat|instagram|tiktok|roblox|fortnite|the game|xbox)",
      r"(?:guy|man|person|someone|he) i (?:game|play|talk|chat) with (?:online|is)"),
    E("romance from someone older or online", "grooming", 45,
      r"(?:wants|asked|asks) (?:me )?to be (?:his|her|my) (?:girlfriend|boyfriend|gf|bf)", r"wants to be my (?:boyfriend|girlfriend|bf|gf)",
      r"(?:says|said|tells me|told me) (?:he|she) (?:loves|love) me", r"(?:tells|telling|told) me i am (?:special|different|his|hers|beautiful|mature)"),
    E("gifts from someone", "grooming", 45,
      r"(?:sends|sent|sending|buys|bought|gives|gave|offering|offers|keeps sending|keeps offering) me {g}(?:gifts|money|robux|vbucks|v bucks|presents|vapes|lifts|a phone|stuff|clothes|cash)"),
    E("grooming signs", "grooming", 65,
      r"mature for (?:my|your|ur) age", r"age is just a number", r"(?:wants|wanted|asked for|asking for|asks for|asks|asked) (?:for )?(?:my )?(?:address|postcode|location|what school|where i live|which school)", r"(?:move|moving|switch|go) (?:to|onto) (?:a )?(?:private|different|another|secret) (?:app|chat|account|server)",
      r"(?:asks|asked|asking|wants to know) {g}(?:what i am wearing|what im wearing|if i am alone|if im alone|if my parents are|when my parents|my address|where i live|my school)",
      r"(?:video call|facetime|call) (?:when|while) my (?:parents|mum|dad) (?:are|is) (?:out|away|asleep)",
      r"(?:i am|im|she is|he is|hes) (?:1[0-5]|[1-9]) (?:and|but) (?:he|she|they) (?:is|s|are) (?:1[8-9]|[2-6][0-9])",
      r"(?:he is|hes|she is|they are|he s) (?:1[8-9]|[2-6][0-9]) (?:and|but) (?:i am|im) (?:1[0-5]|[1-9])",
      r"(?:he|she) (?:says|said) (?:i am|im) (?:his|her) (?:girlfriend|boyfriend)(?: but| and)? {g}(?:older|way older|old)",
      r"says he is 1[0-9] but (?:he )?(?:looks|seems|sounds) older",
      r"(?:teacher|coach|tutor) {g}(?:messaging|messages|texting|texts|snapchat|insta|dms) me"),

    # Distress -----------------------------------------------------------------------------------
    E("distress", "distress", 55,
      r"hate (?:myself|my self|my life|my body|who i am|being me|me)", r"(?:cant|cannot|can not|not) {adv}(?:cope|coping)",
      r"(?:no one|nobody|noone|no body) {adv}(?:cares|care|loves|likes|understands|gets it|would notice|would care|listens)",
      r"(?:feel|feeling|am|i am|so|always|all the time) {adv}(?:alone|lonely|worthless|useless|hopeless|empty|numb|broken|trapped|invisible|ugly|a failure|a burden|like a burden|like a failure|so low|low|depressed|miserable|awful|crap|shit|terrible|overwhelmed|exhausted|lost|scared all the time)",
      r"(?:worthless|hopeless|useless|a failure|a burden)(?= \| | $)", r"i am a (?:failure|burden|mess|disappointment|waste of space)",
      r"(?:cry|crying|cried) {adv}(?:myself to sleep|every night|all the time|for hours|every day|so much|all night)",
      r"(?:cant|cannot|can not) stop crying", r"(?:i think )?i am depressed", r"(?:so|really|very|too) depressed", r"depression",
      r"(?:panic|anxiety) attacks?", r"anxiety (?:is|has been) (?:so |really )?bad", r"(?:not|never) {adv}(?:ok|okay|alright|fine)(?= \| | $| at all| anymore| i)",
      r"(?:want|wish|wanna|need) to {adv}(?:disappear|vanish|run away|escape|give up)(?! to the shops| to my)",
      r"(?:cant|cannot|can not) (?:take|handle|do|deal with) (?:it|this|any more|anymore|much more|life|everything)(?: anymore| any more)?",
      r"(?:dont|do not) know how much more i can take", r"falling apart", r"(?:everything|life) (?:is|feels) (?:falling apart|too much|so hard|pointless|hopeless|shit|awful)",
      r"(?:everything|it all|its all|it is all) (?:is )?too much", r"(?:nothing|it) (?:ever )?(?:gets|will get) better",
      r"(?:struggling|drowning|suffocating)(?! with (?:maths|homework|the|my homework|science|revision))",
      r"(?:dont|do not) (?:enjoy|care about) anything", r"(?:stopped|stop|not) eating", r"make myself sick", r"(?:voices|voice) (?:telling|tell|in my head)",
      r"(?:being|getting|am|i am) bullied", r"(?:everyone|they all|people) (?:hates|hate|laugh at|laughs at) me", r"(?:my )?(?:parents|mum|dad|family) (?:hate|hates) me",
      r"(?:i have )?no (?:friends|one to talk to|body to talk to)", r"(?:dont|do not) have anyone", r"(?:all|its all|it is all) my fault", r"i ruin everything",
      r"(?:exhausted|tired) of (?:pretending|trying|everything|being)", r"(?:dont|do not) (?:want|wanna) (?:to )?be me", r"(?:giving|give|given) up on (?:everything|life|myself)",
      r"(?:feel|feeling) like (?:giving up|i am going crazy|i am drowning|nobody|no one)", r"(?:what is|whats) wrong with me", r"(?:my )?life is (?:a mess|hell|shit|crap)",
      r"my mind (?:wont|will not) (?:shut up|stop)", r"(?:scared|frightened) all the time", r"drinking to (?:feel|forget|cope|stop)",
      r"(?:every day|all the time|every night) to stop (?:thinking|feeling)", r"(?:grieving|grief)", r"(?:cant|cannot) (?:sleep|breathe) {g}(?:awful|bad|panic|scared|when it happens)",
      r"(?:angry|furious) at myself", r"(?:so|very|really|too) (?:stressed|overwhelmed) (?:i|that i) (?:cant|cannot)", r"(?:idk|i dont know) what to do anymore",
      r"dont know what to do anymore", r"i dont know what to do(?= \| | $)", r"(?:cryingmark|sadmark) (?:cryingmark |sadmark )*(?:i cant|everything|i am so|cant)",
      r"sadmark sadmark", r"(?:so|really) (?:sad|upset|low|down) (?:all the time|lately|recently|every day|for weeks|for ages)", r"i feel so alone",
      r"(?:crying|cried) so much i cant breathe", r"(?:everything|everyone) hurts", r"(?:nobody|no one) understands",
      r"(?:i )?feel so (?:lonely|alone|low|sad)", r"(?:want|wanna) to stop (?:feeling|thinking)",
      r"(?:just )?want everything to stop", r"(?:my )?(?:dad|mum|nan|grandad|grandma|best friend|brother|sister) (?:died|passed away) {g}(?:cant|my fault|crying|miss)",
      r"(?:i )?(?:dont|do not) feel safe", r"(?:been|feeling|felt|so|really|very) (?:really |so )?low (?:for|all|every|lately)",
      r"wish i could {adv}(?:disappear|vanish|run away|escape)", r"(?:a|such a|like a) burden", r"(?:feel|feeling) so (?:bad|awful|terrible|rubbish|horrible)",
      r"(?:everyone|everybody|they all|people|all of them) {g}(?:hates|hate) me", r"(?:is|its|it is|all) my fault",
      r"(?:parents|mum|dad|family|friends) (?:wont|dont|do not|will not) (?:talk|speak) to me", r"(?:think|thinking) about running away",
      r"(?:given|give|giving) up (?:trying|on)", r"so done(?= \| | $| pills| with everything| with life| with it all| with people)", r"i want out(?= \| | $)",
      r"(?:cant|can not|cannot) get out of bed", r"nightmares about (?:what happened|him|her|it|that night)", r"(?:screaming|shouting|fighting|arguing|yelling) at each other", r"(?:hide|hiding) in my room",
      r"(?:havent|have not|not) eaten (?:properly |anything )?(?:in|for) days", r"(?:throwing|throw|threw) up after (?:i eat|eating|meals|food)",
      r"(?:binge|bingeing|binging) and", r"only eat once", r"(?:cant|can not) stop worrying", r"(?:anxiety|depression|ocd|panic) is (?:ruining|taking over|destroying) my life",
      r"(?:i think )?i am pregnant", r"(?:kick|kicked) me out if they find out", r"(?:dont|do not) (?:want|wanna) to go home", r"(?:really|so|very) scared(?= \| | $)",
      r"(?:no one|nobody) (?:listens|listen) to me", r"(?:always|so|really) tired and (?:sad|low|down)", r"(?:picked on|bullied|pushed around|left out) (?:every day|all the time|at school|every lesson)",
      r"i have (?:nobody|no one|noone)(?= \| | $)", r"(?:skipping|missing|bunking) school because", r"sick with worry", r"my head is (?:such )?a mess", r"not real(?= \| | $)",
      r"(?:sending|send|sent|posting|posted) me (?:hate|abuse|threats)", r"(?:telling|told|tell) me to (?:kys|kill myself|die)", r"(?:slag|slagging|take the piss|laugh at) (?:me|out of me)",
      r"(?:posted|shared|filmed) (?:a )?video of me (?:getting|being)", r"(?:ugly|disgusting|fat) {g}(?:laughs|laugh|hate|hates) at me",
      r"(?:checks|check|checking|goes through) my phone", r"(?:wont|will not|doesnt) let me (?:see|talk to) my friends", r"(?:leave|dump) me if i (?:talk|speak|see)", anyone=True),
)

# Idioms that contain a risk phrase but mean something else; a match inside one of these is dropped.
IDIOMS = tuple(re.compile(r"(?<= )(?:" + p.format(**MACROS) + r")(?= )") for p in (
    r"(?:homework|revision|revising|school|maths|exams?|tests?|this|that|it|teacher|lesson|monday|science|english|coursework|essay|he|she|they|my brother|my sister) "
    r"(?:makes|is making|made|make) me (?:want to )?(?:die|kill myself|want to die)",
    r"(?:kill|killing|killed|murder|kills) (?:me|us)(?: now)?(?= \| | $| lolmark| its| it is| double| this| with| after| when| if i| because)?"
    r"(?: {g}(?:homework|revision|exam|exams|test|maths|science|english|teacher|lesson|monday|mondays|traffic|shoes|feet|legs|this|school|work|essay|class|pe))",
    r"(?:is|are|was|it is|its) killing me", r"killing (?:me|it|them) (?:lolmark|cryingmark)", r"killed it", r"killing it",
    r"(?:just )?kill me now", r"ugh (?:just )?kill me", r"(?:will|is going to|gonna|going to|would|ll|is gonna|is actually going to|will actually|will literally|is literally going to) "
    r"{g}(?:kill|murder) (?:me|us) (?:when|if|cos|because|for)(?! i tell| i told| i go to| i say)",
    r"(?:die|dying|died|dead) (?:of|from|with|laughing|lolmark) (?:embarrassment|boredom|laughing|cringe|shame|lolmark|it)",
    r"(?:want|wanted|going|gonna) to die (?:of|from) (?:embarrassment|boredom|cringe|shame)", r"dying (?:to|for)", r"to die for",
    r"(?:could|nearly|almost|would) (?:have )?(?:died|die)", r"drop dead", r"dead (?:tired|good|funny|boring|easy|serious|jealous)",
    r"(?:i am|i was) (?:so |literally |actually )?dead(?= lolmark| cryingmark| after| when| that| at| lol)", r"(?:battery|phone|wifi|plant|fish|hamster) (?:is |was )?(?:dying|dead|died)",
    r"(?:death|end) of me", r"i can not even", r"(?:my|the) (?:character|player|guy|avatar|sim) (?:keeps |kept )?(?:dying|died|dies)",
    r"(?:killed|died|die|dying|stabbed|shot) (?:in|on) (?:fortnite|minecraft|roblox|warzone|cod|the game|a game|this game|gta|apex|valorant)",
    r"(?:cut|cutting|cuts) (?:my |her |his )?(?:hair|fringe|finger|thumb|nails|class|lessons|school|me off|him off|her off)",
    r"(?:i will|i ll|im gonna|i am going to|gonna) (?:kill|murder) (?:him|her|them|my brother|my sister|you)",
    r"(?:what|how) (?:does|do|is|are) {g}(?:mean|means)", r"what (?:is|does) (?:sextortion|grooming|self harm|suicide)",
    r"rope swing", r"skipping rope", r"(?:phone|battery|laptop|tablet|ipad|console|controller|car|plant|torch) (?:is |was )?(?:going to|gonna|about to) die",
    r"(?:rope|ropes|blade|blades|knife|knives|razor|bleach|pills|tablets|medicine|scissors|lighter) (?:for|to clean|to cut|to use for|in) (?:my |the |a |our )?(?:pencil sharpener|sharpener|art|tug of war|sports day|cleaning|clean|bathroom|kitchen|craft|crafts|dt|food tech|project|headache|period|cold|hay fever|camping|scouts|guides|cooking|garden|climbing|pe|the shed|swing|tree swing|den|treehouse|boat|tent|washing line|dog|horse)",
    r"(?:do|doing) it {g}(?:\| )?(?:i am |i will |i )?(?:finally |going to )?(?:tell|telling|ask|asking|talk|talking|say|saying|confess|confessing)",
    r"(?:wont|will not|not going to|not gonna|not) be (?:here|around) {gg}(?:holiday|away|trip|camp|residential|visiting|at my|going to|staying at|half term|my dads|my mums|my nans|my aunties|abroad|spain|france|cornwall)",
    r"(?:holiday|away|trip|camp|residential|visiting|going to my|staying at|half term) {gg}(?:wont|will not|not going to|not gonna|not) be (?:here|around)",
    r"(?:work|works|worked|working) (?:on|at|by|for) (?:the )?(?:railway|railways|trains|bridge|river|canal|roofs|motorway)",
    r"getting (?:my|the|our) (?:ball|frisbee|kite|shuttlecock)", r"(?:on )?(?:the )?roof of (?:the |my |a |our )?(?:shed|bus stop|garage|car|playhouse|treehouse|den)", r"(?:die|dying) if i (?:dont|do not|cant|can not) (?:get|see|go|have)",
    r"(?:meet|meeting|meet up|met) {gg}with (?:my )?(?:mum|dad|parents|family|carer|foster carer|auntie|nan|mam|mom)", r"(?:knife|knives) for (?:the )?(?:bbq|cooking|dinner|food tech|food|cake|veg|carving|kitchen|pumpkin)", r"last (?:driving lesson|lesson|exam|day|match|game|episode|shift|practice)",
    r"(?:kill|killed|destroy|beat|battered) me (?:at|on|in) (?:fifa|fortnite|cod|chess|football|ping pong|mario kart)",
    r"(?:cousin|uncle|aunt|auntie|grandad|grandma|nan|brother|sister|dad|mum|family) (?:is |who is )?[2-6][0-9](?: and| is|$| years)",
    r"(?:little|baby|younger|lil) (?:sister|brother|cousin|sis|bro) {g}(?:hitting|hits|hit|kicking|kicks|punching|hurting|biting|bites) me",
    r"(?:hitting|hit|hits) me with (?:a |her |his |their )?(?:toys?|pillows?|cushions?|ball|snowballs?)",
    r"(?:mum|dad|parents|mam|nan|teacher|coach|brother|sister|mom) (?:is |are |will |would |ll |s )?(?:going to |gonna |actually |literally |so |definitely |probably )*(?:kill|murder) (?:me|us)(?! if i tell| if i told| if i say)",
    r"(?:stabbed|shot|killed|attacked|hit|punched|kicked) me (?:in|on) (?:the game|a game|fortnite|minecraft|roblox|warzone|cod|gta|apex|valorant)",
    r"do it (?:\| )?(?:i am going to |i will |to )?(?:tell|talk to|speak to|ask|say|the homework|homework|revision|i mean)",
    r"(?:moving|move|moved|leaving|leave|new school|holiday|party|airport) {gg}(?:goodbye|bye)", r"(?:goodbye|bye) {gg}(?:moving|move|leaving|new school|holiday|airport)", r"jump (?:on|off) the trampoline", r"(?:jumped|jump|jumping) off the (?:rocks|diving board|wall|swing|bed|sofa)",
    r"(?:hang|hanging) (?:out|with|around|up|on)", r"(?:deadline|dead line)", r"(?:shoot|shot|shooting) (?:the ball|at goal|hoops|a video|a film|photos)",
    r"over the bridge to", r"bridge to school", r"at the station (?:waiting|with|to meet|for)",
    r"(?:for|with) (?:my |her |his )?(?:headache|period|period pains|cold|fever|toothache|migraine|back pain|allergies|hay fever)",
    r"(?:(?:take|takes|taking|on|prescribed|started|given) {g})?{med} {g}(?:every morning|every night|every day|each day|for my|for her|for his|for (?:his|her|my) (?:blood|heart|asthma|epilepsy|adhd|diabetes|hay fever)|and it is helping|is helping|helps|helping|is working|works)",
    r"doctor gave me", r"(?:for|in) (?:my|the) (?:first aid|bag) kit",
))

# Fiction, school, games, news and questions about someone else: risk words that are not the child's risk.
FICTION = re.compile(r"(?<= )(?:" + "|".join((
    r"(?:book|novel|story|film|movie|documentary|episode|series|show|song|lyrics|poem|play|essay|project|assignment|lesson|assembly|article|news) "
    r"{g}(?:about|where|on|called|in which)",
    r"(?:reading|studying|watching|watched|learnt|learned|learning|doing|did|read|writing|wrote) {g}(?:book|novel|story|film|movie|documentary|essay|project|lesson|play|poem|romeo|of mice|macbeth|hamlet|about)",
    r"(?:in|for) (?:english|drama|pshe|rse|history|assembly|tutor time|form time|psychology|sociology|media studies)(?= \| | $| today| lesson| class| we| and)",
    r"(?:the )?news said", r"(?:romeo|juliet|macbeth|hamlet|of mice and men|inspector calls|jekyll)", r"main character", r"my character",
    r"prevention", r"(?:gcse|a level) (?:art|english|drama|psychology)", r"theme of", r"we did a lesson", r"our teacher talked about",
    r"what are the signs", r"how (?:do|can) i (?:help|support|know if)", r"(?:dreamt|dreamed|dream)", r"(?:signs|symptoms) (?:of|that)",
)).format(**MACROS) + r")(?= )")

# Pictures of means and death sent alone ("🪢", "🔪 💊"): nothing else said, and nothing to read as a joke.
PICTURES = frozenset({"rope", "noose", "coffin", "grave", "knife", "blood", "pills", "razor", "gun", "needle", "chain"})

# What a sentence's subject is, for phrases that do not say whose risk it is ("overdose", "self harm").
FIRST_PERSON = frozenset({"i", "me", "my", "myself", "mine", "am"})
THIRD_PERSON = frozenset({
    "he", "she", "they", "him", "her", "them", "his", "hers", "their", "himself", "herself", "themselves",
    "friend", "friends", "mate", "mates", "bestie", "sister", "brother", "cousin", "mum", "dad", "mother",
    "father", "uncle", "aunt", "auntie", "nan", "nana", "grandad", "grandma", "granny", "someone", "somebody",
    "people", "person", "boy", "girl", "kid", "kids", "classmate", "student", "teacher", "character", "celebrity",
    "singer", "youtuber", "everyone", "anyone", "boyfriend", "girlfriend", "stepdad", "stepmum", "bf", "gf",
})
NEGATORS = frozenset({"not", "never", "no", "dont", "didnt", "wont", "wouldnt", "isnt", "arent", "aint", "nor",
                      "havent", "hasnt", "wasnt", "werent", "shouldnt", "couldnt", "cant", "nothing"})
# Words that may stand between a negator and what it negates ("i am not really going to ...").
FILLERS = frozenset({"really", "even", "ever", "actually", "just", "honestly", "going", "to", "want", "wanna",
                     "gonna", "i", "am", "would", "will", "feel", "like", "think", "try", "trying", "was", "do",
                     "be", "a", "so", "that", "and", "seriously", "genuinely", "plan", "planning", "anymore",
                     "any", "more", "self", "about", "thinking", "of", "have", "had", "been", "the",
                     "thought", "considered", "tried", "wanted", "being", "feeling", "is", "it", "this"})
# Trivial causes that, with a laughing mark, make a death phrase hyperbole.
TRIVIAL = frozenset({
    "homework", "revision", "revising", "exam", "exams", "test", "tests", "maths", "science", "english",
    "teacher", "lesson", "lessons", "monday", "mondays", "traffic", "embarrassment", "embarrassing", "cringe",
    "awkward", "boring", "bored", "queue", "wifi", "phone", "battery", "essay", "coursework", "detention",
    "pe", "shoes", "jumper", "hair", "outfit", "song", "video", "meme", "funny", "hilarious", "joke", "joking",
    "lolmark", "school", "report", "grades", "results", "mocks", "assembly", "double", "period", "class",
    "bus", "late", "crush", "dance", "match", "game", "tiktok", "film", "episode", "ending",
})
NOT_JOKING = re.compile(r"(?<= )(?:not (?:joking|kidding|a joke|lolmark)|no lolmark|(?:i am|i mean it|im) (?:serious|being serious)|for real|i mean it|honestly i mean it|this is serious|seriously)(?= )")
# A past that is over: "i used to ... but i'm better now".
RESOLVED = re.compile(r"(?<= )(?:(?:much |a lot |loads )?better now|(?:i am|im) (?:ok|fine|happy|safe|doing well|doing better) now|(?:stopped|recovered|clean for|years clean|[2-9] years clean|and happy|i am safe|i promise|im safe)|but (?:i am|im) (?:ok|fine|better|happy|safe)|just (?:stressed|need to vent|want advice|wanted to talk|want to know))(?= )")
PAST = re.compile(r"(?<= )(?:used to|when i was (?:younger|little|small|in year [0-9])|years ago|a long time ago|last year|in the past)(?= )")


def compile_entry(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<= )(?:" + pattern.format(**MACROS) + r")(?= )")


# One regex per entry (its phrases as alternatives): a message is scanned once per entry, not per phrase.
COMPILED: tuple[tuple[Entry, tuple[re.Pattern[str], ...]], ...] = tuple(
    (entry, (compile_entry("|".join("(?:" + p + ")" for p in entry.patterns)),)) for entry in ENTRIES)


def _vocabulary() -> frozenset[str]:
    """Every literal word the lexicon, the shorthand and the key-word list know: a disguised or stretched
    word is read as one of these when it can be."""
    words: set[str] = set(FUZZY_WORDS)
    for expansion in SHORTHAND.values():
        words.update(expansion)
    for meanings in EMOJI.values():
        words.update(meanings)
    sources = [p for e in ENTRIES for p in e.patterns] + list(MACROS.values())
    for source in sources:
        words.update(w for w in re.findall(r"[a-z]{2,}", source.replace("(?:", " ").replace("(?!", " ").replace("(?=", " ")))
    words.update(MEDICINES)
    words.update(("i", "a", "die", "dead", "life", "live", "kill", "myself", "want", "to", "pills", "cut", "self", "harm",
                  "hang", "jump", "bleed", "blood", "knife", "rope", "end", "it", "all", "my", "sleep"))
    return frozenset(words)


VOCABULARY = _vocabulary()
