-- One clock decides every store's windows: the server's. reserve_rate_limits takes the caller's time (p_now, epoch
-- seconds) and counts in the windows it falls in, as the SQLite and in-memory counters do, instead of reading
-- PostgreSQL's clock_timestamp(); the Python side and its tests then agree on which minute and day a request is in.
-- The old signature and consume_rate_limits (no release calls them any more) are dropped.

drop function if exists public.reserve_rate_limits(text[], text[], integer[], bigint[], bigint[]);
drop function if exists public.consume_rate_limits(text, text[], integer[], bigint[], bigint[]);

-- If every bucket's current window is under its limit, add each cost; otherwise add nothing. The rows are
-- created if missing, then locked in one order (subject, bucket) so parallel calls queue instead of deadlocking,
-- and are held until the transaction ends: no two calls can both see the same room.
create or replace function public.reserve_rate_limits(
  p_now double precision,
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
  v_count integer := coalesce(array_length(p_buckets, 1), 0);
  v_starts timestamptz[] := '{}';
  v_used bigint[] := '{}';
  v_fits boolean := true;
  i integer;
begin
  if p_now is null or p_now = 'NaN'::double precision or p_now in ('Infinity', '-Infinity') then
    raise exception 'reserve_rate_limits: p_now must be a finite time' using errcode = '22023';
  end if;
  if coalesce(array_length(p_subjects, 1), 0) <> v_count or coalesce(array_length(p_window_seconds, 1), 0) <> v_count
     or coalesce(array_length(p_limits, 1), 0) <> v_count or coalesce(array_length(p_costs, 1), 0) <> v_count then
    raise exception 'reserve_rate_limits: arrays of different lengths' using errcode = '22023';
  end if;
  for i in 1 .. v_count loop
    v_starts := v_starts || to_timestamp(floor(p_now / p_window_seconds[i]) * p_window_seconds[i]);
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

  -- Windows over two days old by the caller's clock AND by the database's: an instance whose clock runs ahead
  -- (or a test's clock frozen in the future) cannot wipe the counters other instances are still filling, and
  -- one whose clock runs behind only deletes less.
  delete from public.rate_limits r
  where r.window_start < least(to_timestamp(p_now), clock_timestamp()) - interval '2 days';
end;
$$;

revoke execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  to service_role;
