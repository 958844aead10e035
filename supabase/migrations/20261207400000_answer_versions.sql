-- Answer versions and edited questions (issue 27). A conversation is a tree: each message follows its parent;
-- a regenerated reply or an edited question is a sibling of the message it is a new version of. Among siblings
-- one is `chosen`; `shown` marks the chosen branch (from the first message, following chosen children), the
-- conversation as the page shows it and as the model reads it. Nothing is ever lost: other versions stay stored.
-- THE READ FILTER: every read of a conversation for the page or for the model's context keeps `shown` rows only.
-- The browser still reads its own rows (the existing SELECT policies) and writes none.

alter table public.messages add column if not exists parent_id bigint;
alter table public.messages add column if not exists chosen boolean not null default true;
alter table public.messages add column if not exists shown boolean not null default true;

-- Rows stored before: each follows the one before it in its conversation.
update public.messages m set parent_id = p.previous
from (select id, lag(id) over (partition by conversation_id, user_id order by id) as previous
      from public.messages) p
where p.id = m.id and p.previous is not null;

create index if not exists messages_conversation_id_user_id_parent_id_idx
  on public.messages (conversation_id, user_id, parent_id);

-- Every writer (record_messages, the rooms' functions) appends to the chosen branch: a new row follows the last
-- shown row before it. Writers hold the conversation's lock (advisory, or its row), so the branch cannot move.
create or replace function private.message_follows_branch() returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  select max(p.id) into new.parent_id from public.messages p
  where p.conversation_id = new.conversation_id and p.user_id = new.user_id and p.shown and p.id < new.id;
  return new;
end;
$$;
revoke execute on function private.message_follows_branch() from public, anon, authenticated, service_role;
drop trigger if exists messages_follow_branch on public.messages;
create trigger messages_follow_branch before insert on public.messages
  for each row execute function private.message_follows_branch();

-- A new version of a shown message: its siblings are no longer chosen, it and what followed it leave the shown
-- branch, and the messages are stored through the one writer (record_messages), the first of them taking the
-- old one's place. P0002 when the message is not the user's, not shown, or of another role than the first given.
create or replace function public.record_version(
  p_user_id uuid,
  p_conversation_id uuid,
  p_version_of bigint,
  p_messages jsonb
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_parent bigint;
begin
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));
  select parent_id into v_parent from public.messages
  where id = p_version_of and conversation_id = p_conversation_id and user_id = p_user_id and shown
    and role = p_messages -> 0 ->> 'role';
  if not found then
    raise exception 'message % not found', p_version_of using errcode = 'P0002';
  end if;
  update public.messages set chosen = false
  where conversation_id = p_conversation_id and user_id = p_user_id and coalesce(parent_id, 0) = coalesce(v_parent, 0);
  update public.messages set shown = false
  where conversation_id = p_conversation_id and user_id = p_user_id and shown and id >= p_version_of;
  perform public.record_messages(p_user_id, p_conversation_id, '', p_messages);
end;
$$;

-- Show a version: it (and each message before it) becomes the chosen one among its siblings, and the shown branch
-- is walked again from the first message through chosen children (each version keeps the branch that was chosen
-- under it). False when the message is not the user's.
create or replace function public.choose_version(
  p_user_id uuid,
  p_conversation_id uuid,
  p_message_id bigint
) returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_parent bigint;
begin
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));
  select parent_id into v_parent from public.messages
  where id = p_message_id and conversation_id = p_conversation_id and user_id = p_user_id;
  if not found then
    return false;
  end if;
  -- it and each of its ancestors become the chosen one among their siblings
  with recursive up (id, parent_id) as (
    select p_message_id, v_parent
    union all
    select m.id, m.parent_id from public.messages m join up on m.id = up.parent_id
    where m.conversation_id = p_conversation_id and m.user_id = p_user_id
  )
  update public.messages s set chosen = s.id in (select id from up)
  where s.conversation_id = p_conversation_id and s.user_id = p_user_id
    and coalesce(s.parent_id, 0) in (select coalesce(parent_id, 0) from up);
  with recursive branch (id) as (
    select m.id from public.messages m
    where m.conversation_id = p_conversation_id and m.user_id = p_user_id and m.parent_id is null and m.chosen
    union all
    select m.id from public.messages m join branch b on m.parent_id = b.id
    where m.conversation_id = p_conversation_id and m.user_id = p_user_id and m.chosen
  )
  update public.messages m set shown = m.id in (select id from branch)
  where m.conversation_id = p_conversation_id and m.user_id = p_user_id
    and m.shown is distinct from (m.id in (select id from branch));
  return true;
end;
$$;

-- For each shown message that has other versions: all of its versions' ids, oldest first (the page's switch).
create or replace function public.message_versions(p_user_id uuid, p_conversation_id uuid)
returns table (id bigint, ids bigint[])
language sql
stable
security invoker
set search_path = ''
as $$
  select m.id, array_agg(s.id order by s.id)
  from public.messages m
  join public.messages s on s.conversation_id = m.conversation_id and s.user_id = m.user_id
    and coalesce(s.parent_id, 0) = coalesce(m.parent_id, 0)
  where m.conversation_id = p_conversation_id and m.user_id = p_user_id and m.shown
  group by m.id
  having count(*) > 1;
$$;

-- A regenerated reply is now a new version (record_version), never written over.
drop function if exists public.replace_reply(uuid, uuid, bigint, text, text);

revoke execute on function public.record_version(uuid, uuid, bigint, jsonb) from public, anon, authenticated;
revoke execute on function public.choose_version(uuid, uuid, bigint) from public, anon, authenticated;
revoke execute on function public.message_versions(uuid, uuid) from public, anon, authenticated;
grant execute on function public.record_version(uuid, uuid, bigint, jsonb) to service_role;
grant execute on function public.choose_version(uuid, uuid, bigint) to service_role;
grant execute on function public.message_versions(uuid, uuid) to service_role;
