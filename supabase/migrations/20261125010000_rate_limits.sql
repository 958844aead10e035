-- Per-user usage counters shared by every serverless instance: fixed windows, counted atomically.

create table if not exists public.rate_limits (
  subject text not null,          -- a hash of "user:<id>" or "ip:<address>", never the raw value
  bucket text not null,           -- e.g. chat:minute, chat:day, tokens:day, realtime:minute
  window_start timestamptz not null,
  used bigint not null default 0,
  primary key (subject, bucket, window_start)
);

create index if not exists rate_limits_window_start_idx on public.rate_limits (window_start);

alter table public.rate_limits enable row level security;  -- no policies: only the service role reaches it
revoke all on table public.rate_limits from anon, authenticated;
grant all on table public.rate_limits to service_role;

-- Add each cost to its bucket's current window and say, per bucket, whether the request fits:
-- it fits when what was used before it is under the limit. One statement per bucket, each an atomic upsert,
-- so parallel requests each see a distinct count and never pass the limit together.
create or replace function public.consume_rate_limits(
  p_subject text,
  p_buckets text[],
  p_window_seconds integer[],
  p_limits bigint[],
  p_costs bigint[]
) returns table (bucket text, allowed boolean, used bigint, reset_at timestamptz)
language plpgsql
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  i integer;
  v_start timestamptz;
  v_used bigint;
begin
  for i in 1 .. coalesce(array_length(p_buckets, 1), 0) loop
    v_start := to_timestamp(floor(extract(epoch from clock_timestamp()) / p_window_seconds[i]) * p_window_seconds[i]);
    insert into public.rate_limits as r (subject, bucket, window_start, used)
    values (p_subject, p_buckets[i], v_start, p_costs[i])
    on conflict (subject, bucket, window_start) do update set used = r.used + excluded.used
    returning r.used into v_used;
    bucket := p_buckets[i];
    used := v_used;
    allowed := v_used - p_costs[i] < p_limits[i];
    reset_at := v_start + make_interval(secs => p_window_seconds[i]);
    return next;
  end loop;
  delete from public.rate_limits where window_start < clock_timestamp() - interval '2 days';
end;
$$;

revoke execute on function public.consume_rate_limits(text, text[], integer[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.consume_rate_limits(text, text[], integer[], bigint[], bigint[]) to service_role;
