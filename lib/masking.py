"""Client identifiers (IBAN, card, NIR, SIREN/SIRET, phone, e-mail) masked before OpenAI, restored for the person."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

# The kinds MASK_IDENTIFIERS names (lib/settings.py), and the word of each one's placeholders, [IBAN_1]...
LABELS = {"iban": "IBAN", "card": "CARTE", "nir": "NIR", "siren": "SIREN", "phone": "TEL", "email": "EMAIL"}
PLACEHOLDER = re.compile(r"\[(IBAN|CARTE|NIR|SIREN|TEL|EMAIL)_([1-9][0-9]{0,5})\]")
_LONGEST = max(len(label) for label in LABELS.values()) + 9  # "[" label "_" six digits "]"
_PARTIAL = re.compile(r"\[(?:[A-Z]{0,5}(?:_[0-9]{0,6})?)?\Z")  # the start of a placeholder, cut at the end of a text
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+"
                    r"[A-Za-z]{2,24}(?![\w@-])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_IBAN_PART = re.compile(r"[ -]?([A-Za-z0-9]{1,4})")  # the rest of an IBAN, in groups of at most 4
# Digits in groups of digits separated by one space, dot or dash (a NIR may hold 2A/2B), possibly after a +.
_NUMBER = re.compile(r"(?<![\w+.,/-])\+?[0-9](?:[ .-]?[0-9AB])*(?![\w])")
_GROUP = re.compile(r"\+?[0-9AB]+")


def _iban_valid(value: str) -> bool:
    from stdnum import iban  # python-stdnum: imported only once a candidate is found (README, Dependencies)

    return iban.is_valid(value)


def _card_valid(digits: str) -> bool:
    from stdnum import luhn

    brand = digits.startswith(("34", "37")) if len(digits) == 15 else digits[0] in "456" or "22" <= digits[:2] <= "27"
    return 13 <= len(digits) <= 19 and brand and luhn.is_valid(digits)  # Amex 15 digits; Visa, Mastercard, CB...


def _nir_valid(digits: str) -> bool:
    from stdnum.fr import nir

    return len(digits) == 15 and digits[0] in "12378" and nir.is_valid(digits)


def _siren_valid(digits: str) -> bool:
    from stdnum.fr import siren, siret

    return (len(digits) == 9 and siren.is_valid(digits)) or (len(digits) == 14 and siret.is_valid(digits))


def _phone(value: str) -> bool:
    """A French number (0X XX XX XX XX, +33 X XX XX XX XX, 0033...) or an international one (+ and 8 to 15
    digits): phone numbers have no check digit."""
    if value.startswith("+"):
        digits = value[1:]
        return digits.isdigit() and (8 <= len(digits) <= 15) and not (digits.startswith("33") and len(digits) != 11)
    if value.startswith("0033"):
        return len(value) == 13 and value[4] != "0"
    return len(value) == 10 and value.isdigit() and value[0] == "0" and value[1] != "0"


def _number_kind(value: str, kinds: frozenset[str]) -> str | None:
    """The kind of a number (separators dropped) whose own check digits hold, the most specific first."""
    if not value.lstrip("+").isdigit():
        return "nir" if "nir" in kinds and not value.startswith("+") and _nir_valid(value) else None
    for kind, valid in (("nir", _nir_valid), ("siren", _siren_valid), ("card", _card_valid), ("phone", _phone)):
        if kind in kinds and (kind == "phone" or not value.startswith("+")) and valid(value):
            return kind
    return None


def find(text: str, kinds: Iterable[str] = LABELS) -> list[tuple[int, int, str, str]]:
    """Every identifier in `text`: (start, end, kind, its compact value), in order, none overlapping."""
    kinds = frozenset(kinds)
    found: list[tuple[int, int, str, str]] = []
    if "email" in kinds and "@" in text:
        found += [(m.start(), m.end(), "email", m.group().lower()) for m in _EMAIL.finditer(text)]
    if "iban" in kinds:
        found += _ibans(text)
    if kinds & {"card", "nir", "siren", "phone"}:
        found += _numbers(text, kinds)
    found.sort()
    kept, end = [], -1
    for item in found:  # an e-mail or IBAN found first keeps the digits inside it
        if item[0] >= end:
            kept.append(item)
            end = item[1]
    return kept


def _ibans(text: str) -> list[tuple[int, int, str, str]]:
    """IBANs written whole, in groups of four with spaces or dashes, any case: the longest valid one from each
    start (so a word after it does not hide it)."""
    found = []
    for start in _IBAN_START.finditer(text):
        ends, position, value = [], start.end(), start.group().upper()
        while len(value) < 34:
            part = _IBAN_PART.match(text, position)
            if part is None:
                break
            position, value = part.end(), value + part.group(1).upper()
            if position == len(text) or not text[position].isalnum():
                ends.append((position, value))
        for end, candidate in reversed(ends):
            if len(candidate) >= 15 and _iban_valid(candidate):
                found.append((start.start(), end, "iban", candidate))
                break
    return found


def _numbers(text: str, kinds: frozenset[str]) -> list[tuple[int, int, str, str]]:
    """Numbers whose check digits hold: within a run of digit groups, the longest run of whole groups first."""
    found = []
    for run in _NUMBER.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        first = 0
        while first < len(groups):
            for last in range(len(groups) - 1, first - 1, -1):
                start, end = groups[first][0], groups[last][1]
                value = re.sub(r"[ .-]", "", text[start:end])
                if len(value) < 9 or len(value) > 20:
                    continue
                kind = _number_kind(value, kinds)
                if kind is not None:
                    found.append((start, end, kind, value))
                    first = last
                    break
            first += 1
    return found


class Masker:
    """One request's placeholders: each identifier gets one, the same wherever it appears in what is sent."""

    def __init__(self, kinds: Iterable[str] = LABELS):
        self.kinds = frozenset(kinds)
        self.values: dict[str, str] = {}  # placeholder -> the value as first written
        self._placeholders: dict[tuple[str, str], str] = {}  # (kind, as written) -> placeholder
        self._taken: set[str] = set()  # placeholders written literally in the texts: never given out

    def mask(self, text: str) -> str:
        """`text` with each identifier replaced by its placeholder."""
        if not self.kinds or not text:
            return text
        self._taken.update(m.group() for m in PLACEHOLDER.finditer(text))
        out, position = [], 0
        for start, end, kind, value in find(text, self.kinds):
            out += [text[position:start], self._placeholder(kind, text[start:end])]
            position = end
        out.append(text[position:])
        return "".join(out)

    def _placeholder(self, kind: str, written: str) -> str:
        """The placeholder of an identifier as written (the same value written another way gets its own, so that
        each comes back exactly as the person wrote it)."""
        placeholder = self._placeholders.get((kind, written))
        if placeholder is None:
            n = sum(1 for k, _ in self._placeholders if k == kind) + 1
            while f"[{LABELS[kind]}_{n}]" in self._taken or f"[{LABELS[kind]}_{n}]" in self.values:
                n += 1
            placeholder = f"[{LABELS[kind]}_{n}]"
            self._placeholders[(kind, written)] = placeholder
            self.values[placeholder] = written
        return placeholder

    def mask_messages(self, messages: list[dict]) -> list[dict]:
        """Chat messages with every text content masked, the oldest first (so numbering follows the conversation);
        placeholders already written in any of them are first set aside."""
        for message in messages:
            if isinstance(message.get("content"), str):
                self._taken.update(m.group() for m in PLACEHOLDER.finditer(message["content"]))
        return [{**m, "content": self.mask(m["content"])} if isinstance(m.get("content"), str) else m
                for m in messages]

    def counts(self) -> dict[str, int]:
        """How many distinct identifiers of each kind were masked: {"IBAN": 1, ...}, never the values."""
        counts: dict[str, int] = {}
        for kind, _ in self._placeholders:
            counts[LABELS[kind]] = counts.get(LABELS[kind], 0) + 1
        return counts

    def restore(self, text: str) -> str:
        """`text` with our placeholders replaced by the values they stand for (any other left as written)."""
        if not self.values or "[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(), m.group()), text)

    def settled(self, text: str) -> str:
        """The restored part of a text still growing: up to a placeholder it may end in the middle of."""
        return self.restore(text[:len(text) - len(_pending(text))])


def _pending(text: str) -> str:
    """The end of `text` that may be the start of a placeholder (held back until the next piece)."""
    start = text.rfind("[", max(0, len(text) - _LONGEST))
    return text[start:] if start >= 0 and _PARTIAL.match(text, start) else ""


def restored_events(events: Iterator[dict], masker: Masker) -> Iterator[dict]:
    """A reply's events with the placeholders restored: each `delta` up to a placeholder cut at its end (the rest
    comes with the next one), `done`'s message whole; what was held back is sent before the last event."""
    if not masker.values:
        yield from events
        return
    held = ""
    try:
        for event in events:
            if event is None:  # an idle tick (lib/deadline.py): nothing to restore
                yield event
                continue
            if event.get("type") == "delta":
                text = held + event["text"]
                held = _pending(text)
                shown = masker.restore(text[:len(text) - len(held)])
                if shown:
                    yield {**event, "text": shown}
                continue
            if event.get("type") in ("done", "error") and held:
                yield {"type": "delta", "text": masker.restore(held)}
                held = ""
            if event.get("type") == "done" and isinstance(event.get("message"), str):
                event = {**event, "message": masker.restore(event["message"])}
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


class RestoringTurn:
    """A turn (lib/turns.py) that stores the reply as the person reads it: placeholders restored."""

    def __init__(self, turn, masker: Masker):
        object.__setattr__(self, "_turn", turn)
        object.__setattr__(self, "_masker", masker)

    def __getattr__(self, name):
        return getattr(self._turn, name)

    def __setattr__(self, name, value):
        setattr(self._turn, name, value)

    def grow(self, reply: str) -> str:
        return self._turn.grow(self._masker.settled(reply))

    def finish(self, reply: str, usage, status: str = "complete") -> dict:
        return self._turn.finish(self._masker.restore(reply), usage, status=status)

    def save(self, reply: str | None, status: str = "complete") -> dict:
        return self._turn.save(None if reply is None else self._masker.restore(reply), status)

    def charge(self, reply: str, usage) -> None:
        self._turn.charge(self._masker.restore(reply), usage)
