-- Rooms: a conversation its owner shares by invitation. Members read it (API, and directly under row-level
-- security); every write goes through the service-role-only functions below, as for the rest of the history.

alter table public.messages add column if not exists author_id uuid;       -- null: the owner (or the assistant)
alter table public.messages add column if not exists author_name text check (char_length(author_name) <= 100);
alter table public.conversations add column if not exists assistant_replies text not null default 'mentions'
  check (assistant_replies in ('mentions', 'all'));

create table if not exists public.conversation_members (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null,
  role text not null check (role in ('owner', 'member')),
  name text not null default '' check (char_length(name) <= 100),
  joined_at timestamptz not null default now(),
  primary key (conversation_id, user_id)
);
create index if not exists conversation_members_user_id_idx on public.conversation_members (user_id);

create table if not exists public.room_invitations (
  token_hash text primary key,     -- sha256 of the invitation token; the token itself is never stored
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  revoked_at timestamptz
);
create index if not exists room_invitations_conversation_id_idx on public.room_invitations (conversation_id);
create index if not exists messages_conversation_id_id_idx on public.messages (conversation_id, id);

alter table public.conversation_members enable row level security;
alter table public.room_invitations enable row level security;  -- no policy: only the service role reaches it

-- Supabase grants everything on new tables to its API roles by default: take it back (these tables have no
-- sequences: their keys are the conversation and user ids, and the token's hash).
revoke all on table public.conversation_members, public.room_invitations from anon, authenticated;
grant select on table public.conversation_members to authenticated;
grant all on table public.conversation_members, public.room_invitations to service_role;

create policy "members read their own memberships" on public.conversation_members
  for select to authenticated using ((select auth.uid()) = user_id);

-- Members, and only members, read a room's conversation and messages; deleting the membership row ends it at once.
create policy "members read their rooms" on public.conversations
  for select to authenticated using (exists (
    select 1 from public.conversation_members m
    where m.conversation_id = conversations.id and m.user_id = (select auth.uid())));
create policy "members read their rooms' messages" on public.messages
  for select to authenticated using (exists (
    select 1 from public.conversation_members m
    where m.conversation_id = messages.conversation_id and m.user_id = (select auth.uid())));

-- Who may enter a conversation: its owner, or a member of the room. One row, or none.
create or replace function public.room_access(p_user_id uuid, p_conversation_id uuid)
returns table (owner_id uuid, role text, is_room boolean, assistant_replies text)
language sql stable security invoker set search_path = ''
as $$
  select c.user_id,
         case when c.user_id = p_user_id then 'owner' else m.role end,
         exists (select 1 from public.conversation_members o where o.conversation_id = c.id),
         c.assistant_replies
  from public.conversations c
  left join public.conversation_members m on m.conversation_id = c.id and m.user_id = p_user_id
  where c.id = p_conversation_id and (c.user_id = p_user_id or m.user_id is not null)
$$;

-- The rooms a user is in (as owner or member), each with its members.
create or replace function public.rooms_for(p_user_id uuid)
returns table (id uuid, title text, created_at timestamptz, updated_at timestamptz, role text, members jsonb)
language sql stable security invoker set search_path = ''
as $$
  select c.id, c.title, c.created_at, c.updated_at, me.role,
         (select jsonb_agg(jsonb_build_object('userId', o.user_id, 'name', o.name, 'role', o.role)
                           order by o.role desc, o.joined_at)
          from public.conversation_members o where o.conversation_id = c.id)
  from public.conversation_members me
  join public.conversations c on c.id = me.conversation_id
  where me.user_id = p_user_id
$$;

-- An invitation to the owner's conversation; the owner becomes the room's first member.
create or replace function public.create_room_invite(p_owner_id uuid, p_conversation_id uuid, p_owner_name text,
                                                     p_token_hash text, p_expires_at timestamptz)
returns void
language plpgsql security invoker set search_path = ''
as $$
begin
  perform 1 from public.conversations where id = p_conversation_id and user_id = p_owner_id for update;
  if not found then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;
  insert into public.conversation_members (conversation_id, user_id, role, name)
  values (p_conversation_id, p_owner_id, 'owner', left(p_owner_name, 100))
  on conflict (conversation_id, user_id) do update set name = excluded.name;
  insert into public.room_invitations (token_hash, conversation_id, expires_at)
  values (p_token_hash, p_conversation_id, p_expires_at);
end;
$$;

-- Join through a live invitation: the conversation and the joiner's role, or no row.
create or replace function public.accept_room_invite(p_token_hash text, p_user_id uuid, p_name text)
returns table (conversation_id uuid, role text)
language plpgsql security invoker set search_path = ''
as $$
#variable_conflict use_column
declare
  v_conversation uuid;
begin
  select i.conversation_id into v_conversation from public.room_invitations i
  where i.token_hash = p_token_hash and i.revoked_at is null and i.expires_at > now();
  if v_conversation is null then
    return;
  end if;
  insert into public.conversation_members as m (conversation_id, user_id, role, name)
  values (v_conversation, p_user_id, 'member', left(p_name, 100))
  on conflict (conversation_id, user_id) do update set name = excluded.name;
  return query select m.conversation_id, m.role from public.conversation_members m
    where m.conversation_id = v_conversation and m.user_id = p_user_id;
end;
$$;

-- Revoke an invitation of one of the owner's conversations; false if there is none to revoke.
create or replace function public.revoke_room_invite(p_owner_id uuid, p_token_hash text)
returns boolean
language plpgsql security invoker set search_path = ''
as $$
begin
  update public.room_invitations i set revoked_at = now()
  from public.conversations c
  where i.token_hash = p_token_hash and i.revoked_at is null and c.id = i.conversation_id
    and c.user_id = p_owner_id;
  return found;
end;
$$;

-- One room turn: the author's message (and the reply, if any), stored atomically while the author may still write.
-- The conversation row lock serialises turns, so two members' turns never interleave.
create or replace function public.record_room_turn(p_owner_id uuid, p_conversation_id uuid, p_author_id uuid,
                                                   p_author_name text, p_user_content text,
                                                   p_assistant_content text default null,
                                                   p_status text default 'complete')
returns void
language plpgsql security invoker set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended(p_conversation_id::text, 11));  -- the writers' lock (record_messages)
  perform 1 from public.conversations where id = p_conversation_id and user_id = p_owner_id for update;
  if not found or (p_author_id <> p_owner_id and not exists (
      select 1 from public.conversation_members
      where conversation_id = p_conversation_id and user_id = p_author_id)) then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;
  insert into public.messages (conversation_id, user_id, role, content, author_id, author_name)
  values (p_conversation_id, p_owner_id, 'user', p_user_content, p_author_id, left(p_author_name, 100));
  if p_assistant_content is not null then
    insert into public.messages (conversation_id, user_id, role, content, status)
    values (p_conversation_id, p_owner_id, 'assistant', p_assistant_content, p_status);
  end if;
  update public.conversations set updated_at = now() where id = p_conversation_id;
end;
$$;

create or replace function public.set_room_assistant(p_owner_id uuid, p_conversation_id uuid, p_mode text)
returns boolean
language sql security invoker set search_path = ''
as $$
  with changed as (
    update public.conversations set assistant_replies = p_mode
    where id = p_conversation_id and user_id = p_owner_id returning 1)
  select exists (select 1 from changed)
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.room_access(uuid, uuid)', 'public.rooms_for(uuid)',
    'public.create_room_invite(uuid, uuid, text, text, timestamptz)', 'public.accept_room_invite(text, uuid, text)',
    'public.revoke_room_invite(uuid, text)', 'public.record_room_turn(uuid, uuid, uuid, text, text, text, text)',
    'public.set_room_assistant(uuid, uuid, text)'] loop
    execute format('revoke execute on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end;
$$;
