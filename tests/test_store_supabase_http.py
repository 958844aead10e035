"""The Supabase store's HTTP, exactly: paths, filters, ordering, headers (respx on the PostgREST client's httpx)."""

import json

import httpx
import pytest
import respx

from lib.stores import ConversationNotFound, StoreUnavailable
from lib.stores.supabase import SupabaseStore

URL = "https://project-ref.supabase.co"
KEY = "service-role-canary"
USER, CONVERSATION = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ROW = {"id": CONVERSATION, "title": "Budget", "created_at": "2026-11-25T08:00:00+00:00",
       "updated_at": "2026-11-25T08:01:00+00:00"}


@pytest.fixture
def supabase():
    with respx.mock(base_url=f"{URL}/rest/v1", assert_all_called=True) as mock:
        yield mock


@pytest.fixture
def store():
    return SupabaseStore(URL, KEY, 5.0)


def query_of(request) -> list[tuple[str, str]]:
    return sorted(httpx.QueryParams(request.url.query).multi_items())


def assert_service_role_headers(request):
    assert request.headers["apikey"] == KEY
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_one_conversation_is_read_by_id_and_owner(supabase, store):
    route = supabase.get("/conversations").mock(return_value=httpx.Response(200, json=[ROW]))
    assert store.conversation(USER, CONVERSATION)["title"] == "Budget"
    request = route.calls.last.request
    assert query_of(request) == [("id", f"eq.{CONVERSATION}"), ("limit", "1"),
                                 ("select", "id,title,created_at,updated_at"), ("user_id", f"eq.{USER}")]
    assert_service_role_headers(request)


def test_conversations_are_listed_newest_first_for_the_owner(supabase, store):
    route = supabase.get("/conversations").mock(return_value=httpx.Response(200, json=[ROW]))
    assert store.conversations(USER, limit=50) == [{"id": CONVERSATION, "title": "Budget",
                                                    "createdAt": ROW["created_at"], "updatedAt": ROW["updated_at"]}]
    assert query_of(route.calls.last.request) == [("limit", "50"), ("order", "updated_at.desc,id.desc"),
                                                  ("select", "id,title,created_at,updated_at"),
                                                  ("user_id", f"eq.{USER}")]


def message_row(n: int) -> dict:
    return {"id": n, "role": "user", "content": f"m{n}", "status": "complete", "source": "text", "created_at": "t"}


def test_recent_messages_are_the_newest_n_returned_oldest_first(supabase, store):
    rows = [{"id": 8, "role": "assistant", "content": "a", "status": "complete", "source": "voice", "created_at": "t"},
            {"id": 7, "role": "user", "content": "q", "status": "complete", "source": "text", "created_at": "t"}]
    route = supabase.get("/messages").mock(return_value=httpx.Response(200, json=rows))
    assert [(m["id"], m["source"]) for m in store.messages(USER, CONVERSATION, newest=200)] == [
        (7, "text"), (8, "voice")]
    assert query_of(route.calls.last.request) == [
        ("conversation_id", f"eq.{CONVERSATION}"), ("limit", "200"), ("order", "id.desc"),
        ("select", "id,role,content,status,source,created_at,author_id,author_name"), ("shown", "is.true"),
        ("user_id", f"eq.{USER}")]


def test_a_whole_conversation_is_read_in_keyset_pages_of_1000(supabase, store):
    route = supabase.get("/messages").mock(side_effect=[
        httpx.Response(200, json=[message_row(n) for n in range(1, 1001)]),
        httpx.Response(200, json=[message_row(n) for n in range(1001, 1004)])])
    assert [m["id"] for m in store.messages(USER, CONVERSATION)] == list(range(1, 1004))
    first, second = (query_of(call.request) for call in route.calls)
    assert ("order", "id.asc") in first and ("limit", "1000") in first and not [q for q in first if q[0] == "id"]
    assert ("id", "gt.1000") in second


def test_messages_are_recorded_in_one_rpc_call(supabase, store):
    route = supabase.post("/rpc/record_messages").mock(return_value=httpx.Response(204))
    store.record_messages(USER, CONVERSATION, "Appel", [{"role": "user", "content": "Allô", "source": "voice"}])
    assert json.loads(route.calls.last.request.content) == {
        "p_user_id": USER, "p_conversation_id": CONVERSATION, "p_title": "Appel",
        "p_messages": [{"role": "user", "content": "Allô", "status": "complete", "source": "voice"}]}
    assert_service_role_headers(route.calls.last.request)


def test_a_turn_is_one_rpc_call_to_the_one_writer(supabase, store):
    route = supabase.post("/rpc/record_messages").mock(return_value=httpx.Response(204))
    store.record_turn(USER, CONVERSATION, "Budget", "Quel budget ?", "Voici.", "interrupted")
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "p_user_id": USER, "p_conversation_id": CONVERSATION, "p_title": "Budget", "p_messages": [
            {"role": "user", "content": "Quel budget ?", "status": "complete", "source": "text"},
            {"role": "assistant", "content": "Voici.", "status": "interrupted", "source": "text"}]}
    assert_service_role_headers(request)


@pytest.mark.parametrize("answer, deleted", [(True, True), (False, False)])
def test_deleting_is_one_rpc_call_that_says_whether_there_was_one(supabase, store, answer, deleted):
    route = supabase.post("/rpc/delete_conversation").mock(return_value=httpx.Response(200, json=answer))
    assert store.delete_conversation(USER, CONVERSATION) is deleted
    assert json.loads(route.calls.last.request.content) == {"p_user_id": USER, "p_conversation_id": CONVERSATION}


def test_a_turn_on_someone_elses_conversation_is_not_found(supabase, store):
    supabase.post("/rpc/record_messages").mock(return_value=httpx.Response(
        404, json={"code": "P0002", "message": "conversation not found", "details": None, "hint": None}))
    with pytest.raises(ConversationNotFound):
        store.record_turn(USER, CONVERSATION, "t", "q", "a")


@pytest.mark.parametrize("answer", [
    httpx.Response(503, json={"code": "PGRST002", "message": "schema cache", "details": None, "hint": None}),
    httpx.Response(500, text="<html>"),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
])
def test_failures_are_store_unavailable(supabase, store, answer):
    supabase.get("/conversations").mock(side_effect=[answer])
    with pytest.raises(StoreUnavailable):
        store.conversations(USER)
