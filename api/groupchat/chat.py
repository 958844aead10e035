"""The integrated chat: POST a message for OpenAI's reply (whole or as SSE), regenerate the last reply or edit a
question (each a new version, the old kept), choose a version, or stop a room's reply in progress; GET (list,
search, read), PATCH (rename) and DELETE history."""

from lib import chat, conversations, deadline, moderation, rooms, settings, turns
from lib.errors import ValidationFailed
from lib.history import History
from lib.httpkit import ApiHandler, EventStream, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post", "GET": "get", "PATCH": "patch", "DELETE": "delete"}

    def post(self, request: Request):
        ends = deadline.Deadline("groupchat/chat")  # this request's, from its maxDuration (lib/settings.py)
        cfg = settings.chat()
        body = chat.parse_request(request.json(), cfg)
        history = History.of(request)
        if body.stop:
            return JsonResponse(rooms.stop(history, body.conversationId))
        if body.chooseVersion is not None:
            return JsonResponse(conversations.choose_version(history, body.conversationId, body.chooseVersion))
        system_prompt = chat.system_prompt_for(body, cfg)
        if body.regenerate:
            turn = turns.begin_regenerate(history, body.conversationId, system_prompt, cfg.max_output_tokens)
            body.message = turn.message
        elif body.editOf is not None:
            turn = turns.begin_edit(history, body.conversationId, body.editOf, body.message, system_prompt,
                                    cfg.max_output_tokens)
        else:
            turn = turns.begin(history, body.message, body.conversationId, system_prompt, cfg.max_output_tokens,
                               ask_assistant=body.askAssistant)
        streamed = chat.wants_stream(body, request.headers.get("Accept"))
        if not turn.wants_reply:  # a room message not addressed to the assistant
            saved = turn.post_only()
            return EventStream(iter([{"type": "done", **saved}])) if streamed else JsonResponse(saved)
        moderation.screen(turn, cfg, settings.openai(), ends)  # MODERATION=on: a flagged message goes no further
        with turn.charged_if_it_fails():
            turn.start()  # in a room: the question, and the reply as it is written, are seen by all
            if streamed:
                return EventStream(chat.stream_reply(body, turn, cfg, settings.openai(), ends))
            return JsonResponse(chat.reply(body, turn, cfg, settings.openai(), ends))

    def get(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query)
        after = conversations.after_from(request.query)
        before = conversations.before_from(request.query)
        cursor = conversations.cursor_from(request.query)
        if "q" in request.query:
            if conversation_id is not None:
                raise ValidationFailed("q", "cannot be combined with conversationId")
            return JsonResponse(conversations.search(History.of(request), request.query["q"], cursor))
        if conversation_id is None:
            return JsonResponse(conversations.list_all(History.of(request), cursor))
        if cursor is not None:
            raise ValidationFailed("cursor", "cannot be combined with conversationId")
        return JsonResponse(conversations.read(History.of(request), conversation_id, after, before))

    def patch(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        title = conversations.title_from(request.json())
        return JsonResponse(conversations.rename(History.of(request), conversation_id, title))

    def delete(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        return JsonResponse(conversations.delete(History.of(request), conversation_id))
