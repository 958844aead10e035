"""Client identifiers masked before OpenAI (the stand-in sees placeholders) and restored for the person."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from lib import masking
from tests.helpers import LoopbackServer, call, load_handler
from tests.test_rooms_api import SECRET, Room

CHAT = "/api/groupchat/chat"


def _luhn(prefix: str) -> str:
    from stdnum import luhn

    return prefix + luhn.calc_check_digit(prefix)


CARD = _luhn("497010123456789")  # a Visa-like number whose Luhn digit holds
BAD_CARD = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
IBAN = "FR7630006000011234567890189"
NIR = "295109912611193"
SIREN, SIRET = "732829320", "73282932000074"

# (what the person writes, what OpenAI must be sent)
TABLE = [
    (f"Mon IBAN est {IBAN}, merci.", "Mon IBAN est [IBAN_1], merci."),
    ("My IBAN: FR76 3000 6000 0112 3456 7890 189 thanks", "My IBAN: [IBAN_1] thanks"),
    ("iban fr76-3000-6000-0112-3456-7890-189.", "iban [IBAN_1]."),
    ("IBAN faux FR76 3000 6000 0112 3456 7890 188", "IBAN faux FR76 3000 6000 0112 3456 7890 188"),
    (f"Carte {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]} bloquée", "Carte [CARTE_1] bloquée"),
    (f"card {CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]}", "card [CARTE_1]"),
    (f"card {BAD_CARD} (one digit off)", f"card {BAD_CARD} (one digit off)"),
    ("Sécurité sociale : 2 95 10 99 126 111 93", "Sécurité sociale : [NIR_1]"),
    ("NIR 295109912611194 faux", "NIR 295109912611194 faux"),
    ("NIR né en Corse : 2 69 05 2A 123 456 88", "NIR né en Corse : [NIR_1]"),
    (f"SIREN {SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}, SIRET {SIRET}", "SIREN [SIREN_1], SIRET [SIREN_2]"),
    ("SIREN 732 829 321", "SIREN 732 829 321"),
    ("Appelez-moi au 06 12 34 56 78 ou au +33 6 12 34 56 78", "Appelez-moi au [TEL_1] ou au [TEL_2]"),
    ("Write to Jean.Dupont@exemple.fr please", "Write to [EMAIL_1] please"),
    (f"Ref 99{IBAN[2:]} and 1{CARD}7 are not identifiers", f"Ref 99{IBAN[2:]} and 1{CARD}7 are not identifiers"),
    (f"Commande n°{SIRET}12345 du 12/03/2025 pour 1 234 567,89 €", f"Commande n°{SIRET}12345 du 12/03/2025 pour "
                                                                   "1 234 567,89 €"),
    (f"{IBAN} puis {IBAN} : le même", "[IBAN_1] puis [IBAN_1] : le même"),
    (f"{IBAN} puis {IBAN.lower()} : chacun comme écrit", "[IBAN_1] puis [IBAN_2] : chacun comme écrit"),
    ("@IA quel est le taux ? [IBAN_1] est un texte", "@IA quel est le taux ? [IBAN_1] est un texte"),
    (f"[IBAN_1] écrit tel quel, puis {IBAN}", "[IBAN_1] écrit tel quel, puis [IBAN_2]"),
]


def sent_user_messages(fake_openai) -> list[str]:
    chats = [r for r in fake_openai.requests if r["path"] == "/v1/chat/completions"]
    return [m["content"] for m in chats[-1]["body"]["messages"] if m["role"] == "user"]


def everything_sent(fake_openai) -> str:
    return json.dumps([r["body"] for r in fake_openai.requests], ensure_ascii=False)


@pytest.mark.parametrize("written, sent", TABLE)
def test_the_table_whole_reply(fake_openai, chat, written, sent):
    reply = call(chat, "POST", CHAT, {"message": written})
    assert reply.status == 200, reply.text
    assert sent_user_messages(fake_openai) == [sent]
    assert reply.json()["message"] == f"Echo: {written}"


@pytest.mark.parametrize("written, sent", TABLE)
def test_the_table_streamed(fake_openai, chat, written, sent):
    reply = call(chat, "POST", CHAT, {"message": written, "stream": True})
    events = reply.events()
    assert sent_user_messages(fake_openai) == [sent]
    assert "".join(e["text"] for e in events if e["type"] == "delta") == f"Echo: {written}"
    assert events[-1]["type"] == "done" and events[-1]["message"] == f"Echo: {written}"


@pytest.mark.parametrize("cut", range(len("Echo: [IBAN_1] et [EMAIL_1]") + 1))
def test_a_placeholder_cut_anywhere_across_chunks_is_restored(fake_openai, chat, cut):
    written = f"{IBAN} et a.b@exemple.fr"
    fake_openai.cuts = [cut, cut + 3]
    events = call(chat, "POST", CHAT, {"message": written, "stream": True}).events()
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    assert "".join(deltas) == f"Echo: {written}"
    assert not any("[" in text for text in deltas)
    assert events[-1]["message"] == f"Echo: {written}"


@pytest.mark.stores("sqlite")
def test_history_keeps_what_was_typed_and_context_and_regenerate_are_masked(backend, fake_openai, chat, log_records):
    first = call(chat, "POST", CHAT, {"message": f"IBAN {IBAN}"}).json()
    conversation = first["conversationId"]
    second = call(chat, "POST", CHAT, {"message": f"et la carte {CARD} ?", "conversationId": conversation,
                                       "stream": True})
    assert second.events()[-1]["message"] == f"Echo: et la carte {CARD} ?"
    assert sent_user_messages(fake_openai) == ["IBAN [IBAN_1]", "et la carte [CARTE_1] ?"]
    regenerated = call(chat, "POST", CHAT, {"regenerate": True, "conversationId": conversation})
    assert regenerated.json()["message"] == f"Echo: et la carte {CARD} ?"
    assert sent_user_messages(fake_openai) == ["IBAN [IBAN_1]", "et la carte [CARTE_1] ?"]
    assert IBAN not in everything_sent(fake_openai) and CARD not in everything_sent(fake_openai)
    stored = call(chat, "GET", f"{CHAT}?conversationId={conversation}").json()["messages"]
    assert [m["content"] for m in stored] == [f"IBAN {IBAN}", f"Echo: IBAN {IBAN}", f"et la carte {CARD} ?",
                                              f"Echo: et la carte {CARD} ?"]
    lines = [json.loads(r.getMessage()) for r in log_records]
    assert {"IBAN": 1, "CARTE": 1} in [line.get("maskedIdentifiers") for line in lines]
    assert IBAN not in "".join(r.getMessage() for r in log_records)


def test_the_setting_chooses_the_kinds(fake_openai, chat, env):
    env.setenv("MASK_IDENTIFIERS", "email,phone")
    call(chat, "POST", CHAT, {"message": f"{IBAN} a@b.fr"})
    assert sent_user_messages(fake_openai) == [f"{IBAN} [EMAIL_1]"]
    env.setenv("MASK_IDENTIFIERS", "none")
    call(chat, "POST", CHAT, {"message": f"{IBAN} a@b.fr"})
    assert sent_user_messages(fake_openai) == [f"{IBAN} a@b.fr"]
    env.setenv("MASK_IDENTIFIERS", "iban,passport")
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.json()["error"]["setting"]) == (500, "MASK_IDENTIFIERS")


@pytest.fixture(scope="module")
def members_server():
    server = LoopbackServer(load_handler("groupchat/members.py"))
    yield server
    server.shutdown()


@pytest.mark.stores("sqlite")
def test_in_a_room_two_peoples_identifiers_are_not_mixed_up(backend, env, fake_openai, chat, members_server):
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    room = Room(chat, members_server.port, backend)
    conversation = room.start("bob")
    bobs_iban = "DE89370400440532013000"
    assert room.say("alice", f"Mon IBAN : {IBAN}", conversationId=conversation).status == 200
    reply = room.say("bob", f"@IA le mien : {bobs_iban}, le sien ?", conversationId=conversation)
    assert reply.status == 200, reply.text
    chats = [r for r in fake_openai.requests if r["path"] == "/v1/chat/completions"]
    sent = [(m.get("name"), m["content"]) for m in chats[-1]["body"]["messages"] if m["role"] == "user"]
    assert [content for _, content in sent] == ["Mon IBAN : [IBAN_1]", "@IA le mien : [IBAN_2], le sien ?"]
    assert sent[0][0] != sent[1][0]
    assert IBAN not in everything_sent(fake_openai) and bobs_iban not in everything_sent(fake_openai)
    assert reply.json()["message"] == f"Echo: @IA le mien : {bobs_iban}, le sien ?"
    stored = [m["content"] for m in room.read("alice", conversation).json()["messages"]]
    assert stored[-2:] == [f"@IA le mien : {bobs_iban}, le sien ?", f"Echo: @IA le mien : {bobs_iban}, le sien ?"]


def test_restoring_a_stream_cut_anywhere():
    masker = masking.Masker()
    sent = masker.mask(f"{IBAN} {CARD} x@y.fr")
    for cut in range(len(sent) + 1):
        for second in range(cut, len(sent) + 1):
            pieces = [sent[:cut], sent[cut:second], sent[second:]]
            events = [{"type": "delta", "text": p} for p in pieces if p] + [{"type": "done", "message": sent}]
            out = list(masking.restored_events(iter(events), masker))
            assert "".join(e["text"] for e in out if e["type"] == "delta") == f"{IBAN} {CARD} x@y.fr"


TEXT = st.text(st.sampled_from(list("0123456789 -.@abcFRxyz[]_IBANCRTEL+\né")), max_size=80)
IDENTIFIERS = st.sampled_from([IBAN, "FR76 3000 6000 0112 3456 7890 189", CARD, NIR, SIREN, SIRET, "06 12 34 56 78",
                               "jean@exemple.fr", "[IBAN_1]", "[TEL_2"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(TEXT, IDENTIFIERS), max_size=8).map(" ".join))
def test_masking_then_restoring_gives_the_text_back(text):
    masker = masking.Masker()
    masked = masker.mask(text)
    assert masker.restore(masked) == text
    for value in masker.values.values():
        assert value not in masked
