"""Fakes of the ports the tests share (cosmicpython style: a fake beside the real adapter)."""


class FixedSignals:
    """bot.signals.SignalPort giving the same probabilities for every text: FixedSignals(hors_champ=0.9)."""

    def __init__(self, **probabilities):
        self.probabilities = probabilities

    def scores(self, text):
        return dict(self.probabilities)
