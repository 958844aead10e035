-- The dashboard's conversation tools: search, rename, and replacing a regenerated reply.
-- Each runs as the service role only, named user first, so the server never reaches across users.

-- The user's conversations whose title or any message contains p_query (case-insensitive, literal: % and _
-- match themselves), most recently updated first, each with the newest matching message (null when only the
-- title matches).
create or replace function public.search_conversations(
  p_user_id uuid,
  p_query text,
  p_limit integer default 50
) returns table (id uuid, title text, created_at timestamptz, updated_at timestamptz, snippet text)
language sql
stable
security invoker
set search_path = ''
as $$
  with pattern as (
    select '%' || replace(replace(replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%' as value
  )
  select c.id, c.title, c.created_at, c.updated_at,
         (select m.content from public.messages m
          where m.conversation_id = c.id and m.user_id = p_user_id and m.content ilike (select value from pattern)
          order by m.id desc limit 1) as snippet
  from public.conversations c
  where c.user_id = p_user_id
    and (c.title ilike (select value from pattern)
         or exists (select 1 from public.messages m
                    where m.conversation_id = c.id and m.user_id = p_user_id
                      and m.content ilike (select value from pattern)))
  order by c.updated_at desc
  limit greatest(1, least(p_limit, 100));
$$;

-- Rename one of the user's conversations; false when the user has no such conversation.
create or replace function public.rename_conversation(
  p_user_id uuid,
  p_conversation_id uuid,
  p_title text
) returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update public.conversations set title = left(p_title, 200)
  where id = p_conversation_id and user_id = p_user_id;
  return found;
end;
$$;

-- A regenerated reply takes the place of the one it regenerates: same message row, new text and status, so
-- the question is never stored twice. Raises P0002 when that reply is not the user's assistant message.
create or replace function public.replace_reply(
  p_user_id uuid,
  p_conversation_id uuid,
  p_message_id bigint,
  p_content text,
  p_status text default 'complete'
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform 1 from public.conversations
  where id = p_conversation_id and user_id = p_user_id
  for update;
  if not found then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;

  update public.messages set content = p_content, status = p_status, created_at = now()
  where id = p_message_id and conversation_id = p_conversation_id and user_id = p_user_id and role = 'assistant';
  if not found then
    raise exception 'reply % not found', p_message_id using errcode = 'P0002';
  end if;

  update public.conversations set updated_at = now() where id = p_conversation_id;
end;
$$;

revoke execute on function public.search_conversations(uuid, text, integer) from public, anon, authenticated;
revoke execute on function public.rename_conversation(uuid, uuid, text) from public, anon, authenticated;
revoke execute on function public.replace_reply(uuid, uuid, bigint, text, text) from public, anon, authenticated;
grant execute on function public.search_conversations(uuid, text, integer) to service_role;
grant execute on function public.rename_conversation(uuid, uuid, text) to service_role;
grant execute on function public.replace_reply(uuid, uuid, bigint, text, text) to service_role;
