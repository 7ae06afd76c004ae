"""An in-memory knowledge port over loaded YAML (tests, tools): same interface as the SQL repository."""
from __future__ import annotations

from typing import Dict, List, Optional

from bot.knowledge.types import ConditionDef, Demarche, EmergencyKind, Knowledge, Operator
from bot.knowledge.repository import URGENT_SITUATION_KEYS
from bot.text import expanded_terms


class InMemoryKnowledge:
    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self._by_id = {d.id: d for d in knowledge.demarches}

    def get(self, demarche_id: str) -> Optional[Demarche]:
        return self._by_id.get(demarche_id)

    def list(self, operator: Optional[str] = None, section: Optional[str] = None, category: Optional[str] = None):
        return [
            d
            for d in self.knowledge.demarches
            if (not operator or d.operator == operator)
            and (not section or d.section == section)
            and (not category or d.category == category)
        ]

    def topic(self, topic: str) -> List[Demarche]:
        return [d for d in self.knowledge.demarches if d.topic == topic]

    def topics(self, operator: Optional[str] = None) -> Dict[str, List[str]]:
        result: Dict[str, List[str]] = {}
        for d in self.knowledge.demarches:
            if not operator or d.operator == operator:
                result.setdefault(d.topic, []).append(d.id)
        return result

    def urgent_rows(self, operator: str) -> List[Demarche]:
        return [
            d
            for d in self.knowledge.demarches
            if d.operator == operator and d.category == "urgent"
            and any(d.conditions.get(k) == "oui" for k in URGENT_SITUATION_KEYS)
        ]

    def general_rows(self, operator: str) -> List[Demarche]:
        return [d for d in self.knowledge.demarches if d.operator == operator and d.general_when]

    def operators(self) -> List[Operator]:
        return list(self.knowledge.operators.values())

    def conditions(self) -> Dict[str, ConditionDef]:
        return dict(self.knowledge.conditions)

    def emergency(self) -> Dict[str, EmergencyKind]:
        return dict(self.knowledge.emergency)

    def situations(self):
        return list(self.knowledge.situations)

    def out_of_scope_requests(self):
        """The requests as loaded: each carries its `unless` and, if guarded, the operator names."""
        return list(self.knowledge.out_of_scope)

    def local_supplements(self, departement: str, demarche=None, kept_only: bool = True):
        pack = self.knowledge.local.get(departement)
        if pack is None:
            return None, []
        sups = [s for s in pack.supplements if (s.status == "kept" or not kept_only)]
        if demarche is not None:
            sups = [s for s in sups if s.applies_to(demarche)]
        return pack.name, sups

    def expand_terms(self, text: str) -> List[str]:
        return expanded_terms(text, self.knowledge.synonyms.items())
