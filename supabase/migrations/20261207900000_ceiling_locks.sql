-- Shorter row locks for the deployment-wide ceilings (bench/ceilings.py: 50 concurrent reservations logged 700
-- row-lock waits over 1 ms per 1,000 calls). A call now takes the same shard of each global bucket, so two calls
-- meet on one shard or none: a call holding shard 3 of one bucket no longer waits for shard 5 of the other while
-- others queue behind it. Old windows are deleted first, before any lock is held. The decision is unchanged.

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
  c_shards constant integer := 8;
  v_count integer := coalesce(array_length(p_buckets, 1), 0);
  v_starts timestamptz[] := '{}';
  v_used bigint[] := '{}';
  v_how integer[] := '{}';  -- per bucket: the shard a global fast path took from, -1 the slow path, -2 nothing
  v_fits boolean := true;
  v_shard integer;
  v_pick integer := floor(random() * c_shards)::integer;  -- one shard for every global bucket of the call
  v_taken bigint;
  v_total bigint;
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
    v_used := v_used || 0::bigint;
    v_how := v_how || -2;
  end loop;

  -- Old windows (as before: two days by both clocks) are deleted by whoever can, first, while this call holds no
  -- lock: rows another call is deleting are skipped, not waited for.
  delete from public.rate_limits r
  where (r.subject, r.bucket, r.window_start) in (
    select o.subject, o.bucket, o.window_start from public.rate_limits o
    where o.window_start < least(to_timestamp(p_now), clock_timestamp()) - interval '2 days'
    for update skip locked);

  -- Every row this call may touch exists: the caller's own, and each global bucket's shards.
  insert into public.rate_limits as r (subject, bucket, window_start, used, ceiling)
  select k.subject, k.bucket, k.window_start, 0, k.ceiling
  from (
    select case when u.subject = 'global' then 'global:' || s.shard else u.subject end as subject,
           u.bucket, u.window_start, case when u.subject = 'global' then u.ceiling end as ceiling
    from unnest(p_subjects, p_buckets, v_starts, p_limits) as u(subject, bucket, window_start, ceiling)
    cross join lateral generate_series(0, case when u.subject = 'global' then c_shards - 1 else 0 end) as s(shard)
  ) as k
  -- Rows already there are left out first: an insert that meets one being updated would wait for that update.
  where not exists (select 1 from public.rate_limits e
                    where e.subject = k.subject and e.bucket = k.bucket and e.window_start = k.window_start)
  order by k.subject, k.bucket, k.window_start
  on conflict (subject, bucket, window_start) do nothing;

  -- The caller's own rows, locked in one order and held to the end: their check and their add are one step.
  perform 1 from public.rate_limits r
  join unnest(p_subjects, p_buckets, v_starts) as k(subject, bucket, window_start)
    on r.subject = k.subject and r.bucket = k.bucket and r.window_start = k.window_start
  where k.subject <> 'global'
  order by r.subject, r.bucket, r.window_start
  for update of r;

  for i in 1 .. v_count loop
    if p_subjects[i] <> 'global' then
      v_used[i] := (select r.used from public.rate_limits r
                    where r.subject = p_subjects[i] and r.bucket = p_buckets[i] and r.window_start = v_starts[i]);
      if v_used[i] >= p_limits[i] then
        v_fits := false;
      end if;
    end if;
  end loop;

  -- The global buckets, by name: the fast path on one shard, else the slow path on all of them. Once one refuses,
  -- the later ones are only read.
  for i in (select o.i from generate_subscripts(p_buckets, 1) as o(i)
            where p_subjects[o.i] = 'global' order by p_buckets[o.i], v_starts[o.i]) loop
    v_taken := null;
    if v_fits then
      v_shard := v_pick % least(c_shards, greatest(p_limits[i], 1));
      -- In its own subtransaction: an UPDATE that waited for the row and then found no room still holds the row's
      -- lock; rolling the subtransaction back lets it go, so the slow path takes the shards in order from nothing.
      begin
        update public.rate_limits r set used = r.used + p_costs[i], ceiling = p_limits[i]
        where r.subject = 'global:' || v_shard and r.bucket = p_buckets[i] and r.window_start = v_starts[i]
          and r.used + p_costs[i] <= public.ceiling_slice(p_limits[i], v_shard, c_shards)
          and exists (select 1 from public.rate_limits z  -- not a window counted before the shards, unspread
                      where z.subject = 'global:0' and z.bucket = p_buckets[i] and z.window_start = v_starts[i]
                        and z.ceiling is not null)
        returning r.used into v_taken;
        if v_taken is null then
          raise exception 'no room in this shard' using errcode = 'RL001';
        end if;
      exception when sqlstate 'RL001' then
        v_taken := null;
      end;
    end if;
    if v_taken is null then
      if v_fits then
        perform 1 from public.rate_limits r
        where r.subject like 'global:%' and r.bucket = p_buckets[i] and r.window_start = v_starts[i]
        order by r.subject
        for update of r;
      end if;
      select coalesce(sum(r.used), 0) into v_total from public.rate_limits r
      where r.subject like 'global:%' and r.bucket = p_buckets[i] and r.window_start = v_starts[i];
      if v_fits and v_total < p_limits[i] then
        perform public.spread_ceiling(p_buckets[i], v_starts[i], p_limits[i], v_total + p_costs[i], c_shards);
        v_used[i] := v_total + p_costs[i];
        v_how[i] := -1;
      else
        v_fits := false;
        v_used[i] := v_total;
      end if;
    else
      v_how[i] := v_shard;
      v_used[i] := (select coalesce(sum(r.used), 0) from public.rate_limits r
                    where r.subject like 'global:%' and r.bucket = p_buckets[i] and r.window_start = v_starts[i]);
    end if;
  end loop;

  -- A refusal takes nothing: what an earlier global bucket took (v_how: its fast shard, or -1 for the slow path,
  -- its shards still locked either way) is given back.
  if not v_fits then
    for i in 1 .. v_count loop
      if v_how[i] >= 0 then
        update public.rate_limits r set used = r.used - p_costs[i]
        where r.subject = 'global:' || v_how[i] and r.bucket = p_buckets[i] and r.window_start = v_starts[i];
        v_used[i] := v_used[i] - p_costs[i];
      elsif v_how[i] = -1 then
        perform public.spread_ceiling(p_buckets[i], v_starts[i], p_limits[i], v_used[i] - p_costs[i], c_shards);
        v_used[i] := v_used[i] - p_costs[i];
      end if;
    end loop;
  end if;

  for i in 1 .. v_count loop
    if v_fits and p_subjects[i] <> 'global' then
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

end;
$$;

revoke execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  to service_role;
