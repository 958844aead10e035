-- Chat history: conversations and their messages, one owner each, readable from the browser only by that owner.

create table if not exists public.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  title text not null default '' check (char_length(title) <= 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, user_id)
);

create table if not exists public.messages (
  id bigint generated always as identity primary key,
  conversation_id uuid not null,
  user_id uuid not null,
  role text not null check (role in ('user', 'assistant', 'system')),
  content text not null,
  status text not null default 'complete' check (status in ('complete', 'interrupted')),
  created_at timestamptz not null default now(),
  -- a message always belongs to its conversation's owner
  foreign key (conversation_id, user_id) references public.conversations (id, user_id) on delete cascade
);

create index if not exists conversations_user_id_updated_at_idx on public.conversations (user_id, updated_at desc);
create index if not exists messages_user_id_idx on public.messages (user_id);
create index if not exists messages_conversation_id_created_at_idx on public.messages (conversation_id, created_at);

alter table public.conversations enable row level security;
alter table public.messages enable row level security;

revoke all on table public.conversations, public.messages from anon;
grant select, insert, update, delete on table public.conversations, public.messages to authenticated;
grant all on table public.conversations, public.messages to service_role;

create policy "owners read their conversations" on public.conversations
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "owners create their conversations" on public.conversations
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "owners rename their conversations" on public.conversations
  for update to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "owners delete their conversations" on public.conversations
  for delete to authenticated using ((select auth.uid()) = user_id);

create policy "owners read their messages" on public.messages
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "owners add to their conversations" on public.messages
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "owners delete their messages" on public.messages
  for delete to authenticated using ((select auth.uid()) = user_id);

-- One completed (or interrupted) turn, stored atomically: the conversation if new, the user message, the reply.
-- Turns of one conversation are serialised by the row lock, so their messages never interleave.
create or replace function public.record_turn(
  p_user_id uuid,
  p_conversation_id uuid,
  p_title text,
  p_user_content text,
  p_assistant_content text,
  p_status text default 'complete'
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  insert into public.conversations (id, user_id, title)
  values (p_conversation_id, p_user_id, left(p_title, 200))
  on conflict (id) do nothing;

  perform 1 from public.conversations
  where id = p_conversation_id and user_id = p_user_id
  for update;
  if not found then
    raise exception 'conversation % not found', p_conversation_id using errcode = 'P0002';
  end if;

  insert into public.messages (conversation_id, user_id, role, content)
  values (p_conversation_id, p_user_id, 'user', p_user_content);
  insert into public.messages (conversation_id, user_id, role, content, status)
  values (p_conversation_id, p_user_id, 'assistant', p_assistant_content, p_status);

  update public.conversations set updated_at = now() where id = p_conversation_id;
end;
$$;

revoke execute on function public.record_turn(uuid, uuid, text, text, text, text) from public, anon, authenticated;
grant execute on function public.record_turn(uuid, uuid, text, text, text, text) to service_role;
