"""The integrated chat: POST a message for OpenAI's reply (whole or as SSE), or regenerate the last reply;
GET (list, search, read), PATCH (rename) and DELETE history."""

from lib import chat, conversations, settings, turns
from lib.errors import ValidationFailed
from lib.httpkit import ApiHandler, EventStream, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post", "GET": "get", "PATCH": "patch", "DELETE": "delete"}

    def post(self, request: Request):
        cfg = settings.chat()
        body = chat.parse_request(request.json(), cfg)
        system_prompt = chat.system_prompt_for(body, cfg)
        if body.regenerate:
            turn = turns.begin_regenerate(request.caller, request.client_ip, body.conversationId, settings.history(),
                                          settings.limits(), system_prompt, cfg.max_output_tokens)
            body.message = turn.message
        else:
            turn = turns.begin(request.caller, request.client_ip, body.message, body.conversationId,
                               settings.history(), settings.limits(), system_prompt, cfg.max_output_tokens,
                               ask_assistant=body.askAssistant)
        streamed = chat.wants_stream(body, request.headers.get("Accept"))
        if not turn.wants_reply:  # a room message not addressed to the assistant
            saved = turn.post_only()
            return EventStream(iter([{"type": "done", **saved}])) if streamed else JsonResponse(saved)
        with turn.charged_if_it_fails():
            if streamed:
                return EventStream(chat.stream_reply(body, turn, cfg, settings.openai()))
            return JsonResponse(chat.reply(body, turn, cfg, settings.openai()))

    def get(self, request: Request):
        turns.require_history(request.caller)
        conversation_id = conversations.conversation_id_from(request.query)
        after = conversations.after_from(request.query)
        if "q" in request.query:
            if conversation_id is not None:
                raise ValidationFailed("q", "cannot be combined with conversationId")
            return JsonResponse(conversations.search(request.caller.user_id, request.query["q"], settings.history()))
        if conversation_id is None:
            return JsonResponse(conversations.list_all(request.caller.user_id, settings.history()))
        return JsonResponse(conversations.read(request.caller.user_id, conversation_id, settings.history(), after,
                                               request.caller.name))

    def patch(self, request: Request):
        turns.require_history(request.caller)
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        title = conversations.title_from(request.json())
        return JsonResponse(conversations.rename(request.caller.user_id, conversation_id, title, settings.history()))

    def delete(self, request: Request):
        turns.require_history(request.caller)
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        return JsonResponse(conversations.delete(request.caller.user_id, conversation_id, settings.history()))
