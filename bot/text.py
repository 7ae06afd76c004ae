"""French text normalisation shared by the search index and the queries."""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, List, Tuple

_WORD_RE = re.compile(r"[a-z0-9]+")

# Function words that carry no meaning for search (accent-free, lower case).
STOPWORDS = frozenset(
    """
    a ai au aux avec ce ces cet cette d dans de des du elle en est et etc il ils je j l la le les leur
    leurs lui m ma me mes mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses si son sur
    t ta te tes ton tu un une vos votre vous y c est sont plus tout toute toutes tous via lors cas
    """.split()
)


def fold(text: str) -> str:
    """Lower case, accents removed, typographic apostrophes unified."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("\u2019", "'").replace("œ", "oe").replace("æ", "ae")


def plain(text: str) -> str:
    """Folded text, only letters and digits, words separated by one space (what the cue lists read)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text or "")).split())


def stem(word: str) -> str:
    """A very light French stemmer: plural and feminine endings only."""
    if len(word) > 4 and word.endswith("aux"):
        return word[:-3] + "al"
    if len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str) -> List[str]:
    """Search terms of a text: folded, stop words dropped, stemmed."""
    return [stem(w) for w in _WORD_RE.findall(fold(text)) if w not in STOPWORDS]


# words of a clause that say what is asked without saying about what (« je dois le signaler »,
# « comment le contester », « je veux faire une réclamation »): such a clause continues the previous one
# (bot.multi reads clauses with them, bot.conversation the words a search shares with a row)
GENERIC_TERMS = frozenset(terms(
    "comment pourquoi quand quoi quel quelle quels quelles faut falloir dois doit devoir veux veut voudrais voudrait "
    "vouloir souhaite souhaiterait aimerais aimerait peux peut pouvoir faire fait refaire aider aide besoin "
    "savoir sais sait connaitre demander demande prevenir previent signaler signale contester conteste reclamation "
    "regler payer paye reponse probleme souci chose truc ca cela ceci aussi egalement encore deja maintenant "
    "alors donc mais ni non oui jamais rien toujours bien tres trop peu "
    # nouns that say what without saying about what (« comment je conteste leur décision »)
    "decision courrier courriers lettre lettres dossier montant refus papier papiers document documents somme"
))


def _padded(text: str) -> str:
    return " " + " ".join(fold(text).replace("'", " ").split()) + " "


def expanded_terms(text: str, synonyms: Iterable[Tuple[str, str]]) -> List[str]:
    """Terms of `text`, plus the terms of each synonym expansion whose phrase it contains."""
    words = terms(text)
    padded = _padded(text)
    for phrase, expansion in synonyms:
        if _padded(phrase) in padded:
            words.extend(terms(expansion))
    return list(dict.fromkeys(words))


MONTHS = {name: i + 1 for i, name in enumerate(
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre".split())}
_MONTH = "(" + "|".join(MONTHS) + ")"
_DAY = r"(?:(?:le |la )?(?:debut|fin|mi|milieu) (?:de |d )?|(?:le )?\d{1,2} |(?:le )?(?:1er|premier) )?"
_SINCE = re.compile(r"\bdepuis " + _DAY + _MONTH + r"\b")
_NOW = re.compile(r"\b(?:on est|nous sommes|nous voila|la on est|on arrive) (?:en |au |a |deja )?(?:la |le )?" + _DAY + _MONTH + r"\b")


def spelled_durations(norm: str, month_now: int) -> str:
    """« depuis mars » read as a duration: `norm` (plain text) with « depuis N mois » inserted before
    each month named after « depuis », counted to the month the text says it is (« on est fin juin »)
    or else to `month_now` (today's). Nothing is inserted for the current month."""
    said = _NOW.search(norm)
    now = MONTHS[said.group(1)] if said else month_now

    def insert(match: re.Match) -> str:
        months = (now - MONTHS[match.group(1)]) % 12
        return f"depuis {months} mois {match.group(0)[len('depuis '):]}" if months else match.group(0)

    return _SINCE.sub(insert, norm)
