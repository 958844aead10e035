"""What masking client identifiers costs: CPU per message masked, per streamed reply restored, and the first check.

    .venv/bin/python -m bench.masking [rounds]     (default 2000; CPU time with process_time, medians of 7 batches)

Messages: a question with no identifier, one with an IBAN, one with all six kinds, and the longest message allowed
(8,000 characters) holding ten identifiers. The streamed reply is 300 characters with three placeholders, in
4-character chunks. The first check (python-stdnum imported and its IBAN registry read) is timed in fresh processes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import masking  # noqa: E402

IBAN, CARD, NIR = "FR76 3000 6000 0112 3456 7890 189", "4970 1012 3456 7899", "2 95 10 99 126 111 93"
PLAIN = ("Bonjour, je voudrais savoir quel est le taux actuel du livret A et s'il vaut mieux placer mon épargne "
         "sur une assurance vie ou un PEA pour un horizon de huit ans. Merci d'avance pour vos conseils.")
MESSAGES = {
    "no identifier (190 chars)": PLAIN,
    "one IBAN": f"Mon IBAN est {IBAN}, pouvez-vous vérifier le virement ?",
    "all six kinds": (f"IBAN {IBAN}, carte {CARD}, NIR {NIR}, SIRET 732 829 320 00074, tél. 06 12 34 56 78, "
                      "e-mail jean.dupont@exemple.fr"),
    "8,000 chars, ten identifiers": ((PLAIN + " ") * 40)[:7400] + f" {IBAN} {CARD} {NIR} 732829320 0612345678 "
                                    f"a@b.fr {IBAN.lower()} 06 98 76 54 32 x@y.com +33 7 12 34 56 78",
}


def per_call(fn, rounds: int) -> float:
    """Median CPU seconds of one call, over 7 batches of `rounds`."""
    batches = []
    for _ in range(7):
        start = time.process_time()
        for _ in range(rounds):
            fn()
        batches.append((time.process_time() - start) / rounds)
    return statistics.median(batches)


def first_check_ms(runs: int = 9) -> float:
    """Median wall milliseconds of the first message with an IBAN in a fresh process (import and registry)."""
    probe = ("import time, sys; sys.path.insert(0, %r); from lib import masking; t = time.perf_counter(); "
             "masking.Masker().mask('IBAN FR7630006000011234567890189'); print(time.perf_counter() - t)") % str(ROOT)
    return statistics.median(float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(runs)) * 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    masking.Masker().mask(IBAN + " " + CARD)  # stdnum imported and its registry read: measured apart below
    print(f"{'what':<40} {'CPU per message':>16}")
    for name, text in MESSAGES.items():
        cost = per_call(lambda: masking.Masker().mask_messages([{"role": "user", "content": text}]), rounds)
        print(f"{'mask: ' + name:<40} {cost * 1e6:>13.1f} µs")
    masker = masking.Masker()
    sent = masker.mask(f"{IBAN} {CARD} jean@exemple.fr")
    reply = (f"Votre compte {sent.split()[0]} est crédité. " * 12)[:300]
    chunks = [{"type": "delta", "text": reply[i:i + 4]} for i in range(0, len(reply), 4)]
    events = chunks + [{"type": "done", "message": reply}]
    cost = per_call(lambda: list(masking.restored_events(iter(events), masker)), max(1, rounds // 10))
    print(f"{'restore: 300-char reply, 75 chunks':<40} {cost * 1e6:>13.1f} µs")
    print(f"{'first IBAN in a fresh process (wall)':<40} {first_check_ms():>13.1f} ms")


if __name__ == "__main__":
    main()
