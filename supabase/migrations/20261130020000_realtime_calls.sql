-- Realtime calls the server started for a user: only their owner may hang one up or add its transcript.
-- The server alone reads and writes it (service role); the browser never sees the table.

create table if not exists public.realtime_calls (
  id text primary key check (char_length(id) between 1 and 200),  -- OpenAI's call id (rtc_...)
  user_id uuid not null,
  conversation_id uuid not null,  -- where the call's transcript is stored (the conversation may not exist yet)
  created_at timestamptz not null default now()
);

create index if not exists realtime_calls_user_id_idx on public.realtime_calls (user_id);

alter table public.realtime_calls enable row level security;  -- no policies: only the service role reaches it
revoke all on table public.realtime_calls from public, anon, authenticated;
grant all on table public.realtime_calls to service_role;
