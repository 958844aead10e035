-- Rooms people can trust (issue 22): a room made without the assistant, single-use invitations the owner can
-- list and revoke by id, removal that holds against older invitations, and the assistant's reply stored while it
-- grows (status 'writing') so every member sees it. Every write stays a service-role-only function.

-- 1. A reply in progress: stored as 'writing', updated as it grows, then 'complete' or 'interrupted'. Its
--    author_id says who asked (the asker, or the owner, may stop it); the browser still reads it only.
alter table public.messages drop constraint if exists messages_status_check;
alter table public.messages add constraint messages_status_check
  check (status in ('complete', 'interrupted', 'writing'));

-- 2. Invitations: an id to list and revoke them by, who made them, single use unless reusable, how many joined.
--    Those made before this migration admitted anyone: they stay reusable.
alter table public.room_invitations add column if not exists id uuid not null default gen_random_uuid();
alter table public.room_invitations add column if not exists reusable boolean not null default true;
alter table public.room_invitations alter column reusable set default false;
alter table public.room_invitations add column if not exists created_by uuid;
alter table public.room_invitations add column if not exists joined integer not null default 0;
create unique index if not exists room_invitations_id_key on public.room_invitations (id);

-- 3. Who left a room or was removed, and when: an invitation made before that moment no longer admits them.
create table if not exists public.room_departures (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null,
  left_at timestamptz not null default now(),
  primary key (conversation_id, user_id)
);
alter table public.room_departures enable row level security;  -- no policy: only the service role reaches it
revoke all on table public.room_departures from anon, authenticated;
grant all on table public.room_departures to service_role;

-- A room of the owner's, titled, with nobody but them yet and no message: nothing is sent to the assistant.
create or replace function public.create_room(p_owner_id uuid, p_conversation_id uuid, p_title text,
                                              p_owner_name text)
returns void
language plpgsql security invoker set search_path = ''
as $$
begin
  if exists (select 1 from public.deleted_conversations where id = p_conversation_id) then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;
  insert into public.conversations (id, user_id, title) values (p_conversation_id, p_owner_id, left(p_title, 200));
  insert into public.conversation_members (conversation_id, user_id, role, name)
  values (p_conversation_id, p_owner_id, 'owner', left(p_owner_name, 100));
end;
$$;

-- An invitation (single use unless reusable) to the owner's conversation, which becomes a room; its id.
drop function if exists public.create_room_invite(uuid, uuid, text, text, timestamptz);
create or replace function public.create_room_invite(p_owner_id uuid, p_conversation_id uuid, p_owner_name text,
                                                     p_token_hash text, p_expires_at timestamptz,
                                                     p_reusable boolean default false)
returns uuid
language plpgsql security invoker set search_path = ''
as $$
declare
  v_id uuid;
begin
  perform 1 from public.conversations where id = p_conversation_id and user_id = p_owner_id for update;
  if not found then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;
  insert into public.conversation_members (conversation_id, user_id, role, name)
  values (p_conversation_id, p_owner_id, 'owner', left(p_owner_name, 100))
  on conflict (conversation_id, user_id) do update set name = excluded.name;
  insert into public.room_invitations (token_hash, conversation_id, expires_at, reusable, created_by)
  values (p_token_hash, p_conversation_id, p_expires_at, p_reusable, p_owner_id)
  returning id into v_id;
  return v_id;
end;
$$;

-- Join through a live invitation: the conversation and the joiner's role, or no row. A member (or the owner)
-- re-entering with any live link stays what they are; anyone else needs an invitation not yet spent (single
-- use: one person joined) and made after they last left or were removed from this room.
create or replace function public.accept_room_invite(p_token_hash text, p_user_id uuid, p_name text)
returns table (conversation_id uuid, role text)
language plpgsql security invoker set search_path = ''
as $$
#variable_conflict use_column
declare
  v_invite record;
begin
  select i.conversation_id, i.reusable, i.joined, i.created_at into v_invite from public.room_invitations i
  where i.token_hash = p_token_hash and i.revoked_at is null and i.expires_at > now()
  for update;
  if not found then
    return;
  end if;
  if not exists (select 1 from public.conversation_members m
                 where m.conversation_id = v_invite.conversation_id and m.user_id = p_user_id) then
    if (not v_invite.reusable and v_invite.joined > 0) or exists (
        select 1 from public.room_departures d
        where d.conversation_id = v_invite.conversation_id and d.user_id = p_user_id
          and d.left_at >= v_invite.created_at) then
      return;
    end if;
    insert into public.conversation_members (conversation_id, user_id, role, name)
    values (v_invite.conversation_id, p_user_id, 'member', left(p_name, 100));
    update public.room_invitations set joined = joined + 1 where token_hash = p_token_hash;
  else
    update public.conversation_members set name = left(p_name, 100)
    where conversation_id = v_invite.conversation_id and user_id = p_user_id;
  end if;
  return query select m.conversation_id, m.role from public.conversation_members m
    where m.conversation_id = v_invite.conversation_id and m.user_id = p_user_id;
end;
$$;

-- Revoke one of the owner's invitations by its id; false if it is not a live one of that room.
create or replace function public.revoke_room_invite_by_id(p_owner_id uuid, p_conversation_id uuid,
                                                           p_invite_id uuid)
returns boolean
language plpgsql security invoker set search_path = ''
as $$
begin
  update public.room_invitations i set revoked_at = now()
  from public.conversations c
  where i.id = p_invite_id and i.conversation_id = p_conversation_id and i.revoked_at is null
    and c.id = i.conversation_id and c.user_id = p_owner_id;
  return found;
end;
$$;

-- Take a member out (never the owner) and remember when: older invitations no longer admit them.
create or replace function public.remove_room_member(p_conversation_id uuid, p_user_id uuid)
returns boolean
language plpgsql security invoker set search_path = ''
as $$
begin
  delete from public.conversation_members
  where conversation_id = p_conversation_id and user_id = p_user_id and role = 'member';
  if not found then
    return false;
  end if;
  insert into public.room_departures (conversation_id, user_id, left_at) values (p_conversation_id, p_user_id, now())
  on conflict (conversation_id, user_id) do update set left_at = excluded.left_at;
  return true;
end;
$$;

-- A room turn that wants a reply: the author's question at once and an empty 'writing' reply, atomically, while
-- the author may write (the writers' lock, as record_room_turn); the reply's id.
create or replace function public.start_room_reply(p_owner_id uuid, p_conversation_id uuid, p_author_id uuid,
                                                   p_author_name text, p_user_content text)
returns bigint
language plpgsql security invoker set search_path = ''
as $$
declare
  v_reply bigint;
begin
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));
  perform 1 from public.conversations where id = p_conversation_id and user_id = p_owner_id for update;
  if not found or (p_author_id <> p_owner_id and not exists (
      select 1 from public.conversation_members
      where conversation_id = p_conversation_id and user_id = p_author_id)) then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;
  insert into public.messages (conversation_id, user_id, role, content, author_id, author_name)
  values (p_conversation_id, p_owner_id, 'user', p_user_content, p_author_id, left(p_author_name, 100));
  insert into public.messages (conversation_id, user_id, role, content, status, author_id)
  values (p_conversation_id, p_owner_id, 'assistant', '', 'writing', p_author_id)
  returning id into v_reply;
  update public.conversations set updated_at = now() where id = p_conversation_id;
  return v_reply;
end;
$$;

-- The writer's update of a reply in progress, only while it is still 'writing': 'ok'; 'stopped' when it is not
-- (someone stopped it): the writer stops; 'gone' when the conversation was deleted or the asker is no longer in
-- the room: the reply is deleted. p_status 'failed' deletes it (OpenAI failed).
create or replace function public.update_room_reply(p_owner_id uuid, p_conversation_id uuid, p_reply_id bigint,
                                                    p_author_id uuid, p_content text, p_status text)
returns text
language plpgsql security invoker set search_path = ''
as $$
begin
  if p_status = 'failed'
     or not exists (select 1 from public.conversations where id = p_conversation_id and user_id = p_owner_id)
     or (p_author_id <> p_owner_id and not exists (
      select 1 from public.conversation_members
      where conversation_id = p_conversation_id and user_id = p_author_id)) then
    delete from public.messages
    where id = p_reply_id and conversation_id = p_conversation_id and user_id = p_owner_id and status = 'writing';
    return case when p_status = 'failed' then 'stopped' else 'gone' end;
  end if;
  update public.messages set content = p_content, status = p_status
  where id = p_reply_id and conversation_id = p_conversation_id and user_id = p_owner_id and role = 'assistant'
    and status = 'writing';
  if not found then
    return 'stopped';
  end if;
  if p_status <> 'writing' then
    update public.conversations set updated_at = now() where id = p_conversation_id;
  end if;
  return 'ok';
end;
$$;

-- Stop a room's replies in progress: all of them (p_asked_by null: the owner) or those one member asked for;
-- how many were stopped, and how many others' are still being written.
create or replace function public.stop_room_replies(p_owner_id uuid, p_conversation_id uuid, p_asked_by uuid)
returns table (stopped integer, others integer)
language plpgsql security invoker set search_path = ''
as $$
declare
  v_stopped integer;
begin
  update public.messages set status = 'interrupted'
  where conversation_id = p_conversation_id and user_id = p_owner_id and role = 'assistant' and status = 'writing'
    and (p_asked_by is null or author_id = p_asked_by);
  get diagnostics v_stopped = row_count;
  return query select v_stopped, (select count(*)::integer from public.messages
    where conversation_id = p_conversation_id and user_id = p_owner_id and status = 'writing');
end;
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.create_room(uuid, uuid, text, text)',
    'public.create_room_invite(uuid, uuid, text, text, timestamptz, boolean)',
    'public.accept_room_invite(text, uuid, text)', 'public.revoke_room_invite_by_id(uuid, uuid, uuid)',
    'public.remove_room_member(uuid, uuid)', 'public.start_room_reply(uuid, uuid, uuid, text, text)',
    'public.update_room_reply(uuid, uuid, bigint, uuid, text, text)', 'public.stop_room_replies(uuid, uuid, uuid)'] loop
    execute format('revoke execute on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end;
$$;
