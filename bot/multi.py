"""Several requests in one message: split the message, find the démarche topic of each part.

« Monsieur 58 ans, licencié, inscrit France Travail, il a un trop-perçu de 1200 euros, sa CAF a
baissé son APL et il doit refaire sa carte d'identité périmée » holds three requests. The Rasa NLU
gives one intent per message, so the conversation (bot.conversation) asks this module first:

1. `split_segments`: sentences, then clauses (commas, « et », « puis », « aussi », « il a … »,
   « elle doit … »). A bare description of the person (« Monsieur 58 ans », « licencié »,
   « usagère sans ordinateur »), a circumstance without a verb (« depuis la séparation ») or a
   fragment of one or two words is no request: it joins the clause that follows it (or the previous
   one when it comes last).
2. `TopicClassifier`: TF-IDF of words (1–2 grams) and characters (2–5 grams) on the folded text and a
   logistic regression, trained in-process on the démarche phrasings of data/nlu/ (the same
   examples as the Rasa model; conversational intents left out), once per process, on first use.
3. `MultiDetector.detect`: adjacent clauses of the same topic are merged (unless a word of addition,
   « aussi », « autre chose », opens the second and its row differs); a request is kept when
   its topic is confident and not already found (an urgent reading of a topic already found is
   kept beside it). A clause with no démarche of its own completes the request before it, unless it
   opens the sentence of the request that follows (« son employeur l'envoie en Australie dans
   10 jours et il lui faut un permis international »: the reason of that request), or tells of a
   payment that stopped or discloses a danger naming another organisation or benefit (a request of
   its own, likely urgent: `MultiDetector.candidates`). Facts stated
   once (implied by the whole message: « sans ordinateur », « agriculteur ») are shared by every
   request; urgent requests (an emergency cue or a clear sign of distress or rupture in their own
   words, or an urgent first reading) come first, the others keep the order typed. Fewer than two requests: `detect` returns [] and the
   conversation behaves exactly as for one request.

Pure Python + scikit-learn, no Rasa import.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.text import GENERIC_TERMS, fold, plain as _plain, terms

# intents of data/nlu/ that are not démarche topics
CONVERSATIONAL = frozenset({
    "greet", "goodbye", "thanks", "affirm", "deny", "je_ne_sais_pas", "menu", "choisir", "demander_conseiller",
    "urgence", "hors_champ", "out_of_scope", "suivante", "synthese",
})
# a request of the message that is none of the référentiel's démarches (another body's, or no démarche)
OUT_OF_SCOPE = "hors_champ"
OUT_OF_SCOPE_LABEL = "Hors du champ de France services"
MIN_CONFIDENCE = 0.5  # probability of the best topic for a clause to count as a request
# or, below it, a topic of the classifier's first three with at least this probability that is also
# the first topic of the référentiel's full-text search (two independent readings agree)
SEARCH_AGREEMENT = 0.2
# … or a topic of the search's operator when the classifier's first topics of that operator weigh this much
OPERATOR_CONFIDENCE = 0.4
# … or, below it, at least this probability and this many times the second topic's (a clear lead)
CLEAR_CONFIDENCE = 0.35
CLEAR_MARGIN = 5.0
TEMPERATURE = 4.0  # softmax of the SVM scores
# a request put first as urgent on the classifiers alone (no cue of the lists, no urgent reading): a
# clearer sign than the one that makes the single path ask (chosen on multi.yml–multi5.yml)
URGENT_DISTRESS = 0.7
URGENT_RUPTURE = 0.8
STORY_TERMS = 4  # content words of unclear clauses telling of an interruption, to be a request of their own
STORY_RUPTURE = 0.6  # … and the rupture classifier's probability for them
MIN_TERMS = 2  # content words below which a clause is no request on its own

# typed words that move to the next request of a case (normalised text: folded, no punctuation)
NEXT_WORDS = re.compile(
    r"^(?:ok |d accord |bon |bien |merci )?(?:(?:on )?pass\w*(?: a)?(?: la)?(?: demarche| demande)?(?: suivante| suite)?|"
    r"(?:la |au )?suivante?|(?:demarche|demande) suivante|(?:la )?suite|(?:et )?apres|ensuite|continu\w*|"
    r"(?:on )?continue\w*|prochaine(?: demarche| demande)?)$"
)

# Sentence ends, then clause boundaries (on the folded text).
_SENTENCES = re.compile(r"(?:[.;!?\n]+|\s[-–—+/•*]\s|(?:^|\s)\(?\d{1,2}\)\s)")  # « 1) … 2) … »: a list
_CONNECTORS = (
    r",",
    r"\bet (?:aussi|puis|enfin|egalement|en plus|de plus|par ailleurs)\b",
    r"\bmais aussi\b",
    r"\bainsi que\b",
    r"\bde plus\b",
    r"\ben plus\b",
    r"\bpar ailleurs\b",
    r"\bautre chose\b",
    r"\bpuis\b",
    r"\bet\b",
)
_CLAUSES = re.compile("|".join(f"(?:{c})" for c in _CONNECTORS))
# a new clause opens with a subject and a verb even without punctuation (« … retraite elle a perdu … »)
_SUBJECT_VERB = re.compile(
    r"(?<=\s)(?=(?:il|elle|je|on|monsieur|madame|mme)\s+(?:a|ai|doit|dois|veut|veux|voudrait|voudrais|souhaite|"
    r"aimerait|aimerais|cherche|n|ne|demande|vient|viens)\b)"
)
# « n'est jamais arrivé », « ne sont pas versées »: a state that is a problem, hence a request
_NEGATION = re.compile(r"\b(?:n est|ne sont|n etait|n etaient|ne suis|n a|n ai|ne touche|ne percoi\w*)\b")
_SUBJECT_START = re.compile(r"^(?:il|elle|je|j|on|ils|elles|nous|monsieur|madame|mme)\b")
# a bare description of the person, not a request: it gives facts, and joins the next clause
_DESCRIPTION = re.compile(
    r"^(?:(?:monsieur|madame|mme|mr|m|mlle|usager|usagere|personne|la personne|le monsieur|la dame|un monsieur|"
    r"une dame|homme|femme|jeune|maman|papa|mere|pere)\b|\d+\s*ans\b|(?:age|agee|ne|nee|inscrit|inscrite|licencie|"
    r"licenciee|retraite|retraitee|divorce|divorcee|veuf|veuve|marie|mariee|seul|seule|celibataire|sans|avec|agriculteur|"
    r"agricultrice|exploitant|exploitante|salarie|salariee|chomeur|chomeuse|handicape|handicapee|malade|enceinte|"
    r"etudiant|etudiante|deja|pas|tres|en situation|en arret|en invalidite|au chomage|au rsa|allocataire|"
    r"beneficiaire|titulaire|affilie|affiliee|originaire|arrive|arrivee|heberge|hebergee|locataire|proprietaire|suivi|suivie|"
    r"connu|connue|demandeur|demandeuse|accompagne|accompagnee)\b)"
)
# when the counsellor heard what follows (« en fin d'entretien », « pendant le rendez-vous »): no request
_FRAME = re.compile(
    r"^(?:en fin|a la fin|au cours|pendant|durant|lors|au debut|en debut)(?: de| d| du)? ?(?:l |le |la |notre |son |cet |ce )?"
    r"(?:entretien|rendez vous|rdv|echange|discussion|accueil)$|^(?:en discutant|en partant|avant de partir)$"
)
# a circumstance without a verb (« depuis la séparation », « après le décès de son mari »): no request
_CIRCUMSTANCE = re.compile(
    r"^(?:depuis|apres|avant|suite a|a la suite d\w*|a cause d\w*|lors d\w*|pendant) (?:le |la |les |l |son |sa |ses |mon |ma |"
    r"mes |notre |nos |leur |leurs |un |une |ce |cet |cette )?\w+(?: (?:de|d|du|des) (?:la |l |le |les |son |sa |ses |mon |ma |mes )?\w+)?$"
)
# a clause about something the request before it named (« elle n'en reçoit plus », « je n'y arrive pas »)
_BACK_REFERENCE = re.compile(r"\bn (?:en|y) \w+")
# a statement about the person's situation (« je suis au RSA », « elle touche les allocs », « j'ai 67 ans »)
_STATE = re.compile(
    r"^(?:je|j|il|elle|on|monsieur|madame|mme)\s+(?:suis|est|etait|etais|touche|touchait|percoit|percois|a deja|ai deja|"
    r"a \d+ ans|ai \d+ ans|travaille|travaillais|vis|vit|habite|pars|part|vais|va|viens de|vient de)\b"
    r"|^(?:\S+\s+){0,4}(?:est|sont|etait|etaient)\b"  # « ma mère est hospitalisée », « les travaux sont finis »
)
# another body asks the person for something named before (« la CAF me les demande »): no request
_ASKED_BY_OTHER = re.compile(
    r"\b(?:me|m|lui|nous|leur)\s+(?:le|la|les|l|en)\s*(?:a |ont |avait |avaient )?(?:demand|reclam|exig)\w*\b"
)
_PRONOUN_OBJECT = re.compile(
    r"\b(?:le|la|les|l|lui|leur|y|en)\s+(?!(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|"
    r"decembre|france|ligne|cours|urgence|attente|retraite|arret|invalidite|maladie)\b)(?:\w+er|\w+re|\w+ir|ai|a|as|avons|ont)\b"
)


# words that make a clause a request (a need, a verb of action or of trouble)
_REQUEST_WORD = re.compile(
    r"\b(?:(?:vient|viens|venu\w*) pour|veu[tx]|voudr\w*|souhait\w*|doi[ts]|faut|besoin|demand(?:e|es|er|ez|ent|ait)|faire|refaire|perdu|vole|comprend\w*|"
    r"aide\w*|baiss\w*|suppr\w*|coup\w*|bloqu\w*|recu|recoi\w*|verse\w*|paye\w*|rembours\w*|trop percu|"
    r"declar\w*|renouvel\w*|cherch\w*|change\w*|modifi\w*|creer|ouvrir|contest\w*|"
    r"savoir|perim\w*|expir\w*|probleme|souci|dette|retard|attente|plus de|pas de|rien|"
    r"comment|combien|fai[st]|font|obtenir|recuper\w*|activ\w*|c est ou|ou (?:est ce qu|on|je|il|elle) \w+)\b"
)

# an action already done, told as the background of what is asked (« j'ai porté plainte », « la plainte est
# déjà déposée », « j'ai déjà fait suivre mon courrier »): no request, unless it says it led nowhere
_DONE = re.compile(
    r"^(?:(?:je|j|il|elle|on|nous|ils|elles|monsieur|madame|mme)\s+(?:ai|a|avons|ont|avait|avais)\s+(?:deja\s+)?"
    r"(?:porte plainte|depose (?:une |sa |ma |la )?plainte)"
    r"|(?:la |sa |ma |une )?(?:pre )?plainte (?:est |a ete )?(?:deja )?(?:deposee|faite)"
    r"|(?:je|j|il|elle|on|nous|ils|elles|monsieur|madame|mme)\s+(?:ai|a|avons|ont)\s+deja\s+"
    r"(?:fait|envoye|depose|rempli|signale|transmis|fourni|porte))\b"
)
# the purpose of what follows, without a verb of its own (« pour faire la carte grise sur l'ANTS, on lui demande
# un quitus fiscal »): no request, it joins the request it explains
_PURPOSE = re.compile(
    r"^pour (?:faire|refaire|obtenir|demander|renouveler|toucher|avoir|payer|declarer|creer|ouvrir)\b"
)
_PERSON = re.compile(r"\b(?:je|j|il|elle|on|ils|elles|nous|vous|comment|ou|pourquoi|combien|quand|quel\w*)\b")
_LED_NOWHERE = re.compile(r"\b(?:mais|toujours|rien|jamais|aucune?|sans|pas|plus|comment|pourquoi|combien|quand|ou)\b")

# a request that is itself a problem on one's file (a refusal, a decrease, a debt…): a story after it explains it
_PROBLEM = re.compile(r"\b(?:refus\w*|rejet\w*|suppr\w*|baiss\w*|trop percu|indu|contest\w*|radi\w*|sanction\w*)\b")


def _is_problem(request: "Request") -> bool:
    return bool(_PROBLEM.search(_plain(request.text)))


# a question or a request of its own (« comment… », « je voudrais… », « est-ce que… »)
_OWN_QUESTION = re.compile(
    r"\b(?:comment|pourquoi|combien|est ce qu\w*|puis je|peut on|peut il|peut elle|peux je|pouvez vous|quel\w*|faut il|"
    r"(?:je|j|il|elle|on) (?:voudr\w*|aimer\w*|veu[tx]|souhait\w*|cherche|doi[st])|(?:j ai|jai|il a|elle a|on a) besoin|"
    r"(?:il|elle) (?:me|lui|nous) faut|c est ou|ou (?:est ce|on|je|il|elle) \w+)\b"
)


# words that add a request to one already made (« il veut aussi… », « autre chose : … »)
_ADDED = re.compile(r"\b(?:aussi|egalement|autre chose|autre question|par ailleurs|enfin)\b")


def _added(message: str, clause: str) -> bool:
    """The message adds the request told by `clause` (one or more clauses joined by « , ») to what came
    before (« il veut aussi… », « autre chose : … »): a word of addition just before its first clause
    or within it."""
    first = clause.split(", ")[0].strip()
    start = message.find(first) if first else -1
    if start < 0:
        return False
    return bool(_ADDED.search(_plain(message[max(0, start - 20):start + len(first)])))


def _fold_keep(text: str) -> str:
    """Folded text with the same length as the original (so that cuts map back to the original)."""
    folded = fold(text)
    return folded if len(folded) == len(text) else ""


def split_segments(text: str) -> List[str]:
    """The clauses of a message that may each be a request (original wording, trimmed)."""
    return [segment for segment, _core in split_clauses(text)]


def split_clauses(text: str) -> List[Tuple[str, str]]:
    """(clause, core) of each clause that may be a request: the clause with the description of the
    person before it (« Mme O., 33 ans, allocataire de l'AAH, elle voudrait son avis d'impôt »), and
    its own words (« elle voudrait son avis d'impôt »), which the description may otherwise drown."""
    return [(clause, core) for clause, core, _sentence in _clauses(text)]


def _clauses(text: str) -> List[Tuple[str, str, int]]:
    """(clause, core, number of its sentence) of each clause that may be a request."""
    text = " ".join((text or "").split()) if "\n" not in (text or "") else (text or "")
    pieces: List[Tuple[str, int]] = []
    for number, sentence in enumerate(_cut(text, _SENTENCES)):
        for clause in _coordinated(sentence):
            pieces.extend((piece.strip(" ,;:-–—"), number) for piece in _cut_at_subjects(clause))
    return _attach([(piece, number) for piece, number in pieces if piece])


def _cut(text: str, pattern: re.Pattern) -> List[str]:
    folded = _fold_keep(text)
    if not folded:  # folding changed the length (rare ligatures): cut the folded text itself
        return [p for p in pattern.split(fold(text)) if p and p.strip()]
    parts, start = [], 0
    for match in pattern.finditer(folded):
        parts.append(text[start:match.start()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _coordinated(sentence: str) -> List[str]:
    """Clauses of a sentence; after a bare « et », words without a verb of request or a subject are a
    coordinated noun phrase, not a new request (« les dates et montants versés », « mon adresse mail
    et mon téléphone »)."""
    folded = _fold_keep(sentence)
    if not folded:
        return _cut(sentence, _CLAUSES)
    parts: List[Tuple[str, str]] = []
    start, connector = 0, ""
    for match in _CLAUSES.finditer(folded):
        parts.append((sentence[start:match.start()], connector))
        start, connector = match.end(), match.group(0).strip()
    parts.append((sentence[start:], connector))
    clauses: List[str] = []
    for piece, connector in parts:
        if not piece.strip():
            continue
        plain = _plain(piece)
        if clauses and connector == "et" and not _REQUEST_WORD.search(plain) and not _SUBJECT_START.match(plain):
            clauses[-1] = f"{clauses[-1].rstrip()} et {piece.strip()}"
        else:
            clauses.append(piece)
    return clauses


def _cut_at_subjects(clause: str) -> List[str]:
    folded = _fold_keep(clause)
    if not folded:
        return [clause]
    cuts = [m.start() for m in _SUBJECT_VERB.finditer(folded) if m.start() > 0]
    if not cuts:
        return [clause]
    parts, start = [], 0
    for cut in cuts:
        parts.append(clause[start:cut])
        start = cut
    parts.append(clause[start:])
    return [p for p in parts if p.strip()]


def _is_context(piece: str) -> bool:
    """A description of the person (« Monsieur 58 ans », « licencié »), an action already done told as
    background (« j'ai porté plainte ») or a fragment too short to be a request on its own."""
    folded = _plain(piece)
    if len(terms(piece)) < MIN_TERMS or _FRAME.match(folded) or _CIRCUMSTANCE.match(folded):
        return True
    done = _DONE.match(folded)
    if done and not _LED_NOWHERE.search(folded[done.end():]):
        return True
    state = _STATE.match(folded)
    if state and not _REQUEST_WORD.search(folded[state.end():]) and not _NEGATION.search(folded):
        return True
    description = _DESCRIPTION.match(folded)
    # « inscrit France Travail », « licencié »: the description word itself is no request
    return bool(description) and not _REQUEST_WORD.search(folded[description.end():])


def _is_purpose(piece: str) -> bool:
    """The purpose of what follows, without a verb of its own (« pour faire la carte grise sur l'ANTS »,
    opening a sentence that goes on: « on lui demande un quitus fiscal »)."""
    folded = _plain(piece)
    return bool(_PURPOSE.match(folded)) and not _PERSON.search(folded)


def _is_continuation(piece: str) -> bool:
    """A clause that says what is asked about something named before it (« je dois le signaler à la
    CAF », « comment le contester »): fewer than two words of its own beyond the generic ones, or a
    pronoun that points back with fewer than four (« elle n'en reçoit plus alors qu'elle touche le RSA »)."""
    own = [t for t in terms(piece) if t not in GENERIC_TERMS]
    folded = _plain(piece)
    return (len(own) < 1 or (len(own) < 3 and bool(_PRONOUN_OBJECT.search(folded) or _ASKED_BY_OTHER.search(folded)))
            or (len(own) < 4 and bool(_BACK_REFERENCE.search(folded))))


def _attach(pieces: List[Tuple[str, int]]) -> List[Tuple[str, str, int]]:
    """Context pieces, and a purpose opening a sentence that goes on (`_is_purpose`), join the next
    piece that is a request (or the last request when none follows); continuations join the previous
    one. (clause, core, sentence) triples: the core leaves the context out; the sentence is the number
    of the request piece's sentence."""
    result: List[Tuple[str, str, int]] = []
    pending: List[str] = []
    for i, (piece, sentence) in enumerate(pieces):
        opens = i == 0 or pieces[i - 1][1] != sentence
        if _is_context(piece) or (opens and i + 1 < len(pieces) and pieces[i + 1][1] == sentence
                                  and _is_purpose(piece)):
            pending.append(piece)
            continue
        # (a circumstance before it, « depuis la séparation elle n'en reçoit plus », goes with it)
        if result and all(_CIRCUMSTANCE.match(_plain(p)) for p in pending) and _is_continuation(piece):
            clause, core, number = result[-1]
            result[-1] = (", ".join([clause, *pending, piece]), ", ".join([core, *pending, piece]), number)
            pending = []
            continue
        result.append((", ".join(pending + [piece]), piece, sentence))
        pending = []
    if pending:
        if result:
            clause, core, number = result[-1]
            result[-1] = (", ".join([clause] + pending), core, number)
        else:
            joined = ", ".join(pending)
            result.append((joined, joined, pieces[0][1]))  # pending: there were pieces
    return result


# -- topic classifier ----------------------------------------------------------------------------


def topic_training_examples(nlu_dir: Path) -> List[Tuple[str, str]]:
    """(text, topic) of every démarche phrasing of data/nlu/ (sub-folders included)."""
    from bot.signals import _strip_annotations

    examples: List[Tuple[str, str]] = []
    for path in sorted(Path(nlu_dir).rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or ():
            if not isinstance(block, dict) or not block.get("intent") or block["intent"] in CONVERSATIONAL:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((_strip_annotations(line[2:]), str(block["intent"])))
    return examples


class TopicClassifier:
    """Probabilities of the démarche topics for a short text."""

    def __init__(self, examples: Sequence[Tuple[str, str]]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion
        from sklearn.svm import LinearSVC

        texts = [fold(t) for t, _ in examples]
        labels = [label for _, label in examples]
        self._vectorizer = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9]+",
                                      sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ])
        features = self._vectorizer.fit_transform(texts)
        # a linear SVM trains in seconds on ~4,500 phrasings (a logistic regression takes minutes on 85
        # classes); its scores become probabilities by a softmax (TEMPERATURE: chosen on held-out data)
        self._classifier = LinearSVC(C=0.5)
        self._classifier.fit(features, labels)
        self.topics = tuple(self._classifier.classes_)

    @classmethod
    def from_directory(cls, nlu_dir: Path, topics: Optional[Iterable[str]] = None) -> "TopicClassifier":
        wanted = set(topics) if topics is not None else None
        examples = [(t, label) for t, label in topic_training_examples(nlu_dir) if wanted is None or label in wanted]
        return cls(examples)

    def rank(self, text: str, top: int = 3) -> List[Tuple[str, float]]:
        folded = fold(text or "")
        if not folded.strip():
            return []
        scores = self._classifier.decision_function(self._vectorizer.transform([folded]))[0] * TEMPERATURE
        if len(self.topics) == 2:  # a binary SVM gives one score, for the second class
            scores = [-scores, scores]
        exp = [math.exp(x - max(scores)) for x in scores]
        probs = [x / sum(exp) for x in exp]
        ranking = sorted(zip(self.topics, probs), key=lambda p: -p[1])[:top]
        return [(topic, float(p)) for topic, p in ranking]


# -- detection -----------------------------------------------------------------------------------


@dataclass
class Request:
    """One request found in a message."""

    topic: str
    text: str  # the clause(s) of the message that ask for it
    confidence: float
    urgent: bool = False
    operator: Optional[str] = None
    category: Optional[str] = None  # first reading (unknown facts at their default)
    demarche: Optional[str] = None  # first reading's row
    title: Optional[str] = None
    alarm: bool = False  # read from a story of interruption that had no confident topic of its own

    def as_slot(self) -> Dict[str, object]:
        return {"topic": self.topic, "text": self.text, "operator": self.operator, "category": self.category,
                "demarche": self.demarche, "title": self.title, "urgent": self.urgent, "status": "a_traiter"}


@dataclass
class Detection:
    requests: List[Request]
    shared_facts: Dict[str, str] = field(default_factory=dict)


class MultiDetector:
    """Finds the requests of a message; `engine` is a bot.engine.DecisionEngine (first readings,
    urgency, facts), `classifier` a TopicClassifier (or anything with `rank(text)`)."""

    def __init__(self, engine, classifier, min_confidence: float = MIN_CONFIDENCE,
                 operators_named: Optional[Callable[[str], List[str]]] = None,
                 topic_operators: Optional[Mapping[str, Iterable[str]]] = None,
                 search: Optional[Callable[[str], List[str]]] = None,
                 benefit_topic: Optional[Callable[[str], Optional[str]]] = None,
                 out_of_scope: Optional[Callable[[str, str], Optional[str]]] = None,
                 document_asked: Optional[Callable[[str, Optional[str]], Optional[str]]] = None):
        """`operators_named(text)`: the operators a text names (bot.conversation.Guichet.operators_named);
        `topic_operators`: topic -> operators of its rows. With both, a clause that names an operator
        is read among that operator's topics (« la CAF ne verse plus le RSA »: a CAF démarche).
        `search(text)`: the topics of the référentiel's full-text search, best first — a second,
        lexical opinion: when its first topic agrees, a clear lead of the classifier is enough.
        `benefit_topic(text)`: the topic of the benefit a text names (« le RSA » -> the CAF's), which
        decides the topic of a story of interruption that names no operator.
        `out_of_scope(clause, message)`: the title of what a clause asks when it is none of the
        référentiel's démarches, else None.
        `document_asked(clause, topic)`: the topic of a document of another operator that the clause
        asks for or says is asked for (« la CAF me réclame mon avis d'impôt »): the document decides
        the clause's démarche, not the organisation that asks for it (bot.conversation.Guichet.document_asked)."""
        self.out_of_scope = out_of_scope
        self.document_asked = document_asked
        self.search = search
        self.benefit_topic = benefit_topic
        self.engine = engine
        self.classifier = classifier
        self.min_confidence = min_confidence
        self.operators_named = operators_named
        self.topic_operators = {t: set(ops) for t, ops in dict(topic_operators or {}).items()}

    def rank(self, segment: str) -> List[Tuple[str, float]]:
        """Topics of a clause, best first; restricted to the operators it names, if any."""
        ranking = self.classifier.rank(segment, top=len(getattr(self.classifier, "topics", ())) or 10)
        named = set(self.operators_named(segment)) if self.operators_named and self.topic_operators else set()
        if named:
            kept = [(t, p) for t, p in ranking if self.topic_operators.get(t, set()) & named]
            total = sum(p for _, p in kept)
            if kept and total > 0:
                ranking = [(t, p / total) for t, p in kept]
        return ranking[:3]

    def candidates(self, text: str) -> List[Request]:
        """Every confident clause, with adjacent clauses of the same topic merged (no dedup yet).

        Unclear clauses (no confident topic) complete the request before them, except a run of them
        that tells of a payment or a right that stopped (« sa pension n'est plus versée depuis deux
        mois, il ne mange plus qu'une fois par jour ») or discloses a danger, after a request that does
        not: such a story is a request of its own, the one most likely urgent, read on the run's words."""
        found: List[Request] = []
        unclear: List[str] = []
        run_opens = False  # the unclear run opens its sentence (set with its first clause)
        run_sentence = previous_sentence = -1  # sentence of the unclear run's last clause, of the previous clause

        def settle(sentence: Optional[int] = None) -> str:
            """Place the unclear run; returns it when it goes to the request that follows (`sentence`:
            that request's), i.e. when it opened the same sentence: its reason or circumstances
            (« son employeur l'envoie en Australie dans 10 jours et il lui faut un permis international »)."""
            if not unclear:
                return ""
            joined = ", ".join(unclear)
            forward = sentence is not None and run_opens and run_sentence == sentence
            unclear.clear()
            topic = None
            if self._story_of_rupture(joined, found):
                topic = self._story_topic(joined, None if _is_problem(found[-1]) else found[-1].topic)
            elif self._story_of_danger(joined, found):
                # only about what the story itself names; else the danger is the previous request's circumstance
                topic = self._story_topic(joined)
                if topic is not None and topic[0] == found[-1].topic:
                    topic = None
            if topic is not None:
                found.append(Request(topic[0], joined, topic[1], alarm=True))
                return ""
            if forward or not found:
                return joined
            found[-1].text += ", " + joined  # an unclear clause completes the previous request
            return ""

        for segment, core, sentence in _clauses(text):
            opens_sentence, previous_sentence = sentence != previous_sentence, sentence
            ranking = self.rank(segment)
            if core != segment:  # the description of the person may drown the request's own words
                own = self.rank(core)
                if own and (not ranking or own[0][1] > ranking[0][1]):
                    ranking = own
            if not ranking:
                continue
            topic, confidence = ranking[0]
            second = ranking[1][1] if len(ranking) > 1 else 0.0
            # confident: likely enough, or clearly ahead of every other topic
            confident = confidence >= self.min_confidence or (
                confidence >= CLEAR_CONFIDENCE and confidence >= CLEAR_MARGIN * second)
            if not confident:
                # the classifier hesitates: the référentiel's search decides among its likeliest topics
                agreed = self._agreed(segment, ranking)
                if agreed is not None:
                    topic, confidence, confident = agreed[0], max(agreed[1], confidence), True
            asked = self.document_asked(segment, topic if confident else None) if self.document_asked else None
            if asked is not None:
                topic, confident = asked, True
                confidence = max(confidence if topic == ranking[0][0] else 0.0, self.min_confidence)
            outside = self.out_of_scope(core, text) if self.out_of_scope else None
            if outside is not None:
                settle()
                if not (found and found[-1].topic == OUT_OF_SCOPE):
                    found.append(Request(OUT_OF_SCOPE, segment, 1.0, category=OUT_OF_SCOPE, title=outside))
                else:
                    found[-1].text += ", " + segment
                continue
            if not confident:
                if not unclear:
                    run_opens = opens_sentence
                unclear.append(segment)
                run_sentence = sentence
                continue
            before = settle(sentence)
            if (found and found[-1].topic == topic and not self._story_beside(segment, found[-1])
                    and not _added(text, segment)):
                found[-1].text += ", " + ", ".join(filter(None, (before, segment)))
                found[-1].confidence = max(found[-1].confidence, confidence)
                continue
            found.append(Request(topic, ", ".join(filter(None, (before, segment))), confidence,
                                 alarm=found[-1].topic == topic if found else False))
        settle()
        return found

    def _story_beside(self, segment: str, previous: Request) -> bool:
        """A clause of the previous request's topic that tells of a payment or a right that stopped,
        after a request that does not (« il demande une attestation de paiement de sa retraite » then
        « sa pension n'est plus versée depuis deux mois »): a request of its own, likely urgent."""
        return not previous.alarm and not _is_problem(previous) and self._story_of_rupture(segment, [previous])

    def _story_topic(self, story: str, previous: Optional[str] = None) -> Optional[Tuple[str, float]]:
        """The topic of a story of interruption: among the operators it names, else the benefit it
        names, else the previous request's topic when the story may read as it (« un relevé de ses
        paiements de retraite » then « sa pension ne tombe plus depuis deux mois »: the payments
        stopped, a request of its own) — `previous` is None when that request is itself a problem the
        story explains (« j'ai eu un refus pour le chômage, ils disent que je n'ai pas assez travaillé »):
        the story continues it."""
        named = self.operators_named(story) if self.operators_named else []
        if named:
            ranking = self.rank(story)
            return ranking[0] if ranking else None
        benefit = self.benefit_topic(story) if self.benefit_topic is not None else None
        if benefit is None:
            ranking = dict(self.rank(story))  # its three likeliest topics
            return (previous, ranking[previous]) if previous in ranking else None
        return benefit, dict(self.rank(story)).get(benefit, self.min_confidence)

    def _story_of_rupture(self, story: str, found: Sequence[Request]) -> bool:
        """Unclear clauses that tell of an interruption, after no request or a request that does not."""
        interrupted = getattr(self.engine, "interrupted", None)
        if not found or interrupted is None or len(terms(story)) < STORY_TERMS:
            return False
        return interrupted(story, STORY_RUPTURE) and not interrupted(found[-1].text)

    def _story_of_danger(self, story: str, found: Sequence[Request]) -> bool:
        """Unclear clauses that disclose a danger (the emergency lists: violence, suicide, no shelter…)
        after a request that does not (« il vient pour le quitus fiscal ; en fin d'entretien elle dit
        que son compagnon la menace et garde son AAH »): a request of its own, read on its words."""
        return bool(found) and bool(self.engine.emergencies(story)) and not self.engine.emergencies(found[-1].text)

    def _agreed(self, segment: str, ranking: List[Tuple[str, float]]) -> Optional[Tuple[str, float]]:
        """The search's first topic when the classifier gives it at least SEARCH_AGREEMENT."""
        if self.search is None:
            return None
        found = self.search(segment)
        if not found:
            return None
        for topic, probability in ranking:
            if topic != found[0]:
                continue
            if probability >= SEARCH_AGREEMENT:
                return topic, probability
            # sure of the organisation, not of the démarche (« carte d'identité »: France Identité or ANTS?)
            operators = self.topic_operators.get(topic, set())
            mass = sum(p for t, p in ranking if self.topic_operators.get(t, set()) & operators)
            if mass >= OPERATOR_CONFIDENCE:
                return topic, mass
        return None

    def detect(self, text: str, known: Mapping[str, str] = ()) -> Detection:
        """The requests of `text` (urgent first) when there are at least two, else no request."""
        shared = self.shared_facts(text)
        requests: List[Request] = []
        for request in self.candidates(text):
            if request.topic != OUT_OF_SCOPE:
                self._first_reading(request, {**dict(known or {}), **shared})
            # the same démarche twice is one request; a story of interruption is kept beside a plain
            # request of its topic (« une attestation de paiement » and « la pension n'est plus versée »),
            # so is an urgent reading beside a plain one (« refaire mon permis perdu » and « la carte
            # grise à mon nom avant lundi, je pars en mission »)
            added = _added(text, request.text)
            if any(r.topic == request.topic and r.alarm == request.alarm and (r.urgent or not request.urgent)
                   and (r.demarche == request.demarche or not added) for r in requests):
                continue
            requests.append(request)
        if len(requests) < 2:
            return Detection([])
        if (len(requests) == 2 and requests[0].operator is not None and requests[0].operator == requests[1].operator
                and not any(r.alarm or r.urgent for r in requests)
                and not ((all(_OWN_QUESTION.search(_plain(r.text)) for r in requests) or _added(text, requests[1].text))
                         and not self.engine.emergencies(text))):
            # two readings of one organisation's démarche: far more often one request told at length
            # (« j'ai eu un refus pour le chômage… pourquoi ils refusent ») than two (one in eight
            # single-request messages were split this way), unless a word of addition opens the second
            # (« elle a aussi une question sur… ») or each asks its own question
            # (« comment récupérer un colis… et comment on active le coffre-fort Digiposte ») and
            # nothing tells of a danger (the single path puts it first, whoever it concerns)
            return Detection([])
        requests.sort(key=lambda r: not r.urgent)  # stable: the order typed otherwise
        return Detection(requests, shared)

    def shared_facts(self, text: str) -> Dict[str, str]:
        """Facts stated once for the whole message that hold for every request: facts about the
        person (persistent conditions: digital autonomy, MSA, farmer, distress)."""
        facts = self.engine.implied_facts(text)
        # distress stays with the request whose words show it (it would make every request urgent)
        return {k: v for k, v in facts.items()
                if k in self.engine.conditions and self.engine.conditions[k].persistent and k != "detresse"}

    def _first_reading(self, request: Request, facts: Mapping[str, str]) -> None:
        from bot.engine import Outcome

        # a sign of danger (the emergency lists), of distress or of a rupture (the classifiers) in the
        # request's own words, for an operator that has urgent rows: the request may be urgent, it
        # comes first (its questions will tell)
        urgent_cue = bool(self.engine.emergencies(request.text)) or self.engine.alarm(
            request.text, distress=URGENT_DISTRESS, rupture=URGENT_RUPTURE)
        try:
            result = self.engine.decide(request.topic, facts, request.text, may_ask=False)
        except LookupError:
            return
        if isinstance(result, Outcome) and result.demarche is not None:
            row = result.demarche
            request.operator, request.category, request.demarche, request.title = (
                row.operator, row.category, row.id, row.title)
        if urgent_cue and request.operator and self.engine.knowledge.urgent_rows(request.operator):
            request.category = "urgent"
        request.urgent = request.category == "urgent"


_lock = threading.Lock()
_classifiers: Dict[Tuple[str, Tuple[str, ...]], TopicClassifier] = {}


def classifier_for(nlu_dir: Path, topics: Iterable[str]) -> TopicClassifier:
    """One classifier per process (and per data folder and topic set), trained on first use."""
    key = (str(Path(nlu_dir).resolve()), tuple(sorted(topics)))
    with _lock:
        if key not in _classifiers:
            _classifiers[key] = TopicClassifier.from_directory(Path(nlu_dir), key[1])
        return _classifiers[key]
