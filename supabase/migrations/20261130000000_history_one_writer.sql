-- History has one writer: the server, through record_messages / record_turn with the service role.
-- The browser may read its own rows and nothing else. Deleted conversations stay deleted, history rows go with
-- their user, and messages say whether they were typed or spoken.

-- 1. Nothing but SELECT of one's own rows for the browser roles. Supabase's default privileges grant every
--    table and sequence the owner creates in public to anon and authenticated (TRUNCATE, REFERENCES, TRIGGER,
--    sequence USAGE/UPDATE included): take all of it back, then grant only what the dashboard reads.
drop policy if exists "owners create their conversations" on public.conversations;
drop policy if exists "owners rename their conversations" on public.conversations;
drop policy if exists "owners delete their conversations" on public.conversations;
drop policy if exists "owners add to their conversations" on public.messages;
drop policy if exists "owners delete their messages" on public.messages;

revoke all on table public.conversations, public.messages from public, anon, authenticated;
revoke all on sequence public.messages_id_seq from public, anon, authenticated;
grant select on table public.conversations, public.messages to authenticated;
grant all on table public.conversations, public.messages to service_role;
grant usage, select on sequence public.messages_id_seq to service_role;

-- 2. Stored roles are only what a turn stores. Rows of any other role could only have come from a browser
--    writing through the old grants: they are forgeries, not history, and go.
delete from public.messages where role not in ('user', 'assistant');
alter table public.messages drop constraint if exists messages_role_check;
alter table public.messages add constraint messages_role_check check (role in ('user', 'assistant'));

-- 3. Typed or spoken.
alter table public.messages add column if not exists source text not null default 'text';
alter table public.messages add constraint messages_source_check check (source in ('text', 'voice'));

-- 4. History rows belong to a Supabase user and go with them. Rows of users who no longer exist are orphans.
delete from public.conversations c where not exists (select 1 from auth.users u where u.id = c.user_id);
alter table public.conversations
  add constraint conversations_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade;

-- 5. Indexes for the foreign keys (the composite one, leading a message page's keyset order) and paging.
create index if not exists messages_conversation_id_user_id_id_idx on public.messages (conversation_id, user_id, id);
drop index if exists public.messages_conversation_id_created_at_idx;

-- 6. A deleted conversation's id is never used again: every deletion (the API's, a user's cascade) leaves a
--    tombstone that the writer checks.
create table if not exists public.deleted_conversations (
  id uuid primary key,
  deleted_at timestamptz not null default now()
);
alter table public.deleted_conversations enable row level security;  -- no policies: only the service role
revoke all on table public.deleted_conversations from public, anon, authenticated;
grant all on table public.deleted_conversations to service_role;

-- security definer: a user's deletion cascades here as GoTrue's own role, which has no grant on the table
create or replace function public.remember_deleted_conversation() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.deleted_conversations (id) values (old.id) on conflict (id) do nothing;
  return null;
end;
$$;
revoke execute on function public.remember_deleted_conversation() from public, anon, authenticated;

drop trigger if exists conversations_tombstone on public.conversations;
create trigger conversations_tombstone after delete on public.conversations
  for each row execute function public.remember_deleted_conversation();

-- 7. The writer. Messages are stored in order, atomically, creating the conversation if new. A writer and a
--    deletion of the same conversation take the same lock first, so a turn that ends after its conversation
--    was deleted finds the tombstone instead of bringing the conversation back.
create or replace function public.record_messages(
  p_user_id uuid,
  p_conversation_id uuid,
  p_title text,
  p_messages jsonb
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if jsonb_typeof(p_messages) is distinct from 'array' or jsonb_array_length(p_messages) = 0 then
    raise exception 'p_messages must be a non-empty array' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));
  if exists (select 1 from public.deleted_conversations where id = p_conversation_id) then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;

  insert into public.conversations (id, user_id, title)
  values (p_conversation_id, p_user_id, left(coalesce(p_title, ''), 200))
  on conflict (id) do nothing;

  perform 1 from public.conversations
  where id = p_conversation_id and user_id = p_user_id
  for update;
  if not found then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;

  insert into public.messages (conversation_id, user_id, role, content, status, source)
  select p_conversation_id, p_user_id, m ->> 'role', m ->> 'content',
         coalesce(m ->> 'status', 'complete'), coalesce(m ->> 'source', 'text')
  from jsonb_array_elements(p_messages) with ordinality as t (m, n)
  order by n;

  update public.conversations set updated_at = now() where id = p_conversation_id;
end;
$$;

create or replace function public.record_turn(
  p_user_id uuid,
  p_conversation_id uuid,
  p_title text,
  p_user_content text,
  p_assistant_content text,
  p_status text default 'complete'
) returns void
language sql
security invoker
set search_path = ''
as $$
  select public.record_messages(p_user_id, p_conversation_id, p_title, jsonb_build_array(
    jsonb_build_object('role', 'user', 'content', p_user_content, 'status', 'complete'),
    jsonb_build_object('role', 'assistant', 'content', p_assistant_content, 'status', p_status)));
$$;

-- A user's conversation and its messages, deleted under the writer's lock; true if there was one.
create or replace function public.delete_conversation(p_user_id uuid, p_conversation_id uuid) returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));
  delete from public.conversations where id = p_conversation_id and user_id = p_user_id;
  return found;
end;
$$;

revoke execute on function public.record_messages(uuid, uuid, text, jsonb) from public, anon, authenticated;
revoke execute on function public.record_turn(uuid, uuid, text, text, text, text) from public, anon, authenticated;
revoke execute on function public.delete_conversation(uuid, uuid) from public, anon, authenticated;
grant execute on function public.record_messages(uuid, uuid, text, jsonb) to service_role;
grant execute on function public.record_turn(uuid, uuid, text, text, text, text) to service_role;
grant execute on function public.delete_conversation(uuid, uuid) to service_role;
