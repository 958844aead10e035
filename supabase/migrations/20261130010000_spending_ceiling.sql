-- Spending ceilings that hold: a request is counted against all its buckets or none (a refusal costs nothing),
-- per user and for the whole deployment (subject 'global'), and token reservations are settled afterwards.
-- consume_rate_limits (20261125010000) stays for instances still running the previous release.

-- If every bucket's current window is under its limit, add each cost; otherwise add nothing. The rows are
-- created if missing, then locked in one order (subject, bucket) so parallel calls queue instead of deadlocking,
-- and are held until the transaction ends: no two calls can both see the same room.
create or replace function public.reserve_rate_limits(
  p_subjects text[],
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
  v_now double precision := extract(epoch from clock_timestamp());
  v_count integer := coalesce(array_length(p_buckets, 1), 0);
  v_starts timestamptz[] := '{}';
  v_used bigint[] := '{}';
  v_fits boolean := true;
  i integer;
begin
  if coalesce(array_length(p_subjects, 1), 0) <> v_count or coalesce(array_length(p_window_seconds, 1), 0) <> v_count
     or coalesce(array_length(p_limits, 1), 0) <> v_count or coalesce(array_length(p_costs, 1), 0) <> v_count then
    raise exception 'reserve_rate_limits: arrays of different lengths' using errcode = '22023';
  end if;
  for i in 1 .. v_count loop
    v_starts := v_starts || to_timestamp(floor(v_now / p_window_seconds[i]) * p_window_seconds[i]);
  end loop;

  insert into public.rate_limits as r (subject, bucket, window_start, used)
  select k.subject, k.bucket, k.window_start, 0
  from unnest(p_subjects, p_buckets, v_starts) as k(subject, bucket, window_start)
  order by k.subject, k.bucket, k.window_start
  on conflict (subject, bucket, window_start) do nothing;

  perform 1 from public.rate_limits r
  join unnest(p_subjects, p_buckets, v_starts) as k(subject, bucket, window_start)
    on r.subject = k.subject and r.bucket = k.bucket and r.window_start = k.window_start
  order by r.subject, r.bucket, r.window_start
  for update of r;

  for i in 1 .. v_count loop
    v_used := v_used || (select r.used from public.rate_limits r
                         where r.subject = p_subjects[i] and r.bucket = p_buckets[i] and r.window_start = v_starts[i]);
    if v_used[i] >= p_limits[i] then
      v_fits := false;
    end if;
  end loop;

  for i in 1 .. v_count loop
    if v_fits then
      update public.rate_limits r set used = r.used + p_costs[i]
      where r.subject = p_subjects[i] and r.bucket = p_buckets[i] and r.window_start = v_starts[i];
      v_used[i] := v_used[i] + p_costs[i];
    end if;
    bucket := p_buckets[i];
    used := v_used[i];
    allowed := v_fits or v_used[i] < p_limits[i];
    reset_at := v_starts[i] + make_interval(secs => p_window_seconds[i]);
    return next;
  end loop;

  delete from public.rate_limits r where r.window_start < clock_timestamp() - interval '2 days';
end;
$$;

revoke execute on function public.reserve_rate_limits(text[], text[], integer[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.reserve_rate_limits(text[], text[], integer[], bigint[], bigint[]) to service_role;

-- Settle reservations to what the requests really cost: add each delta (negative gives back), never below zero,
-- locking in the same order as reserve_rate_limits.
create or replace function public.settle_rate_limits(
  p_subjects text[],
  p_buckets text[],
  p_window_starts bigint[],
  p_deltas bigint[]
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
  c record;
begin
  for c in
    select k.subject, k.bucket, to_timestamp(k.window_start) as window_start, k.delta
    from unnest(p_subjects, p_buckets, p_window_starts, p_deltas) as k(subject, bucket, window_start, delta)
    order by k.subject, k.bucket, k.window_start
  loop
    update public.rate_limits r set used = greatest(r.used + c.delta, 0)
    where r.subject = c.subject and r.bucket = c.bucket and r.window_start = c.window_start;
  end loop;
end;
$$;

revoke execute on function public.settle_rate_limits(text[], text[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.settle_rate_limits(text[], text[], bigint[], bigint[]) to service_role;
