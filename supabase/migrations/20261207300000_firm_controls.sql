-- The firm's controls (issue 25): an append-only audit trail the browser can neither read nor write, usage per
-- person and day, retention, and a client's erasure. Every table is the server's alone (service role); every
-- function runs as its caller with an empty search_path, and only the service role may execute it.

-- 1. The audit trail. Ids are hashed by the server before they arrive; no message text is ever written here.
create table if not exists public.audit_events (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  kind text not null check (kind ~ '^[a-z_]{1,40}$'),
  actor text not null default '' check (length(actor) <= 64),
  target text not null default '' check (length(target) <= 64),
  detail jsonb not null default '{}'::jsonb check (jsonb_typeof(detail) = 'object' and length(detail::text) <= 2000)
);
create index if not exists audit_events_at_idx on public.audit_events (at);
alter table public.audit_events enable row level security;  -- and no policy: no API role reads a row
revoke all on table public.audit_events from public, anon, authenticated, service_role;
grant select, insert, delete on table public.audit_events to service_role;  -- delete: retention only

-- Append-only: no line is ever changed, whoever asks (retention deletes whole lines, oldest first).
create or replace function private.audit_events_append_only() returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  raise exception 'the audit trail is append-only' using errcode = '42501';
end;
$$;
revoke execute on function private.audit_events_append_only() from public, anon, authenticated, service_role;
drop trigger if exists audit_events_append_only on public.audit_events;
create trigger audit_events_append_only before update on public.audit_events
  for each row execute function private.audit_events_append_only();

-- 2. Usage: one row per person, model and UTC day, added to where turns are recorded (lib/usage.py).
create table if not exists public.usage_daily (
  day date not null,
  user_id uuid not null,
  name text not null default '',
  model text not null default '',
  messages integer not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  reasoning_tokens bigint not null default 0,
  voice_sessions integer not null default 0,
  voice_seconds integer not null default 0,
  refusals integer not null default 0,
  primary key (day, user_id, model)
);
create index if not exists usage_daily_user_id_idx on public.usage_daily (user_id);
alter table public.usage_daily enable row level security;
revoke all on table public.usage_daily from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.usage_daily to service_role;

create or replace function public.add_usage(
  p_day date, p_user_id uuid, p_name text, p_model text, p_messages integer, p_input_tokens bigint,
  p_output_tokens bigint, p_reasoning_tokens bigint, p_voice_sessions integer, p_voice_seconds integer,
  p_refusals integer
) returns void
language sql
security invoker
set search_path = ''
as $$
  insert into public.usage_daily as u (day, user_id, name, model, messages, input_tokens, output_tokens,
                                       reasoning_tokens, voice_sessions, voice_seconds, refusals)
  values (p_day, p_user_id, left(coalesce(p_name, ''), 100), coalesce(p_model, ''), p_messages, p_input_tokens,
          p_output_tokens, p_reasoning_tokens, p_voice_sessions, p_voice_seconds, p_refusals)
  on conflict (day, user_id, model) do update set
    name = excluded.name, messages = u.messages + excluded.messages,
    input_tokens = u.input_tokens + excluded.input_tokens, output_tokens = u.output_tokens + excluded.output_tokens,
    reasoning_tokens = u.reasoning_tokens + excluded.reasoning_tokens,
    voice_sessions = u.voice_sessions + excluded.voice_sessions,
    voice_seconds = u.voice_seconds + excluded.voice_seconds, refusals = u.refusals + excluded.refusals;
$$;

-- 3. Retention: conversations (their messages, voice transcripts included, and memberships go with them) whose
--    last activity is older than p_before, each under the writers' lock and checked again under it, so a turn
--    racing the run either lands first (and the conversation stays) or finds the tombstone; then calls and
--    invitations by their age. Locks are taken in id order, so two runs at once queue instead of deadlocking.
create or replace function public.prune_history(p_before timestamptz) returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id uuid;
  v_conversations integer := 0;
  v_calls integer;
  v_invitations integer;
begin
  for v_id in select id from public.conversations where updated_at < p_before order by id loop
    perform pg_advisory_xact_lock(hashtextextended(v_id::text, 11));
    delete from public.conversations where id = v_id and updated_at < p_before;
    if found then
      v_conversations := v_conversations + 1;
    end if;
  end loop;
  delete from public.realtime_calls where created_at < p_before;
  get diagnostics v_calls = row_count;
  delete from public.room_invitations where created_at < p_before;
  get diagnostics v_invitations = row_count;
  delete from public.usage_daily where day < (p_before at time zone 'utc')::date;
  return jsonb_build_object('conversations', v_conversations, 'calls', v_calls, 'invitations', v_invitations);
end;
$$;

-- 4. A person's erasure (GDPR art. 17): their conversations go, except rooms others are in, which keep what
--    others wrote and lose what this person wrote and the assistant's replies to it (a reply is to the message
--    just before it); the same in others' rooms; their memberships, calls and usage go. Each conversation they
--    own under the writers' lock.
create or replace function public.erase_user_data(p_user_id uuid) returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id uuid;
  v_conversations integer := 0;
  v_messages integer;
begin
  for v_id in select id from public.conversations where user_id = p_user_id order by id loop
    perform pg_advisory_xact_lock(hashtextextended(v_id::text, 11));
    if not exists (select 1 from public.conversation_members m
                   where m.conversation_id = v_id and m.user_id <> p_user_id) then
      delete from public.conversations where id = v_id;
      v_conversations := v_conversations + 1;
    end if;
  end loop;
  delete from public.messages a
  where a.role = 'assistant' and exists (
    select 1 from public.messages q
    where q.conversation_id = a.conversation_id and q.role = 'user'
      and (q.author_id = p_user_id or (q.author_id is null and q.user_id = p_user_id))
      and q.id = (select max(p.id) from public.messages p where p.conversation_id = a.conversation_id and p.id < a.id));
  delete from public.messages
  where role = 'user' and (author_id = p_user_id or (author_id is null and user_id = p_user_id));
  get diagnostics v_messages = row_count;
  delete from public.conversation_members where user_id = p_user_id and role = 'member';
  delete from public.realtime_calls where user_id = p_user_id;
  delete from public.usage_daily where user_id = p_user_id;
  return jsonb_build_object('conversations', v_conversations, 'messages', v_messages);
end;
$$;

revoke execute on function public.add_usage(date, uuid, text, text, integer, bigint, bigint, bigint, integer,
                                            integer, integer) from public, anon, authenticated;
revoke execute on function public.prune_history(timestamptz) from public, anon, authenticated;
revoke execute on function public.erase_user_data(uuid) from public, anon, authenticated;
grant execute on function public.add_usage(date, uuid, text, text, integer, bigint, bigint, bigint, integer,
                                           integer, integer) to service_role;
grant execute on function public.prune_history(timestamptz) to service_role;
grant execute on function public.erase_user_data(uuid) to service_role;
