-- Deployment-wide ceilings without two hot rows. Every chat message used to lock the same `global` rows of
-- global:chat:day and global:tokens:day, so concurrent reservations queued on them. Each global bucket's window is
-- now spread over 8 rows, subjects 'global:0' .. 'global:7', its limit split between them (slices that add up to
-- the limit), and decided exactly as one row would decide it (allowed when what was used before is under the limit):
--   fast path: one shard, picked at random, takes the cost if it fits whole in that shard's slice (one conditional
--              UPDATE: no other request waits, and nothing is locked when it does not fit);
--   slow path: otherwise every shard of the bucket is locked (in shard order) and the decision is made on their
--              sum; the sum, with the cost added, is then spread again over the shards, each as far as its slice
--              (any excess on shard 0).
-- So either every shard is within its slice (the sum is within the limit) or every shard is at least at its slice
-- (the sum is at or past the limit): a fast path only takes when the sum is under the limit, as one row would.
-- Settling a global bucket locks its shards and spreads the new sum the same way. Rows are locked in one order by
-- every call (the caller's own rows, then the global buckets by name, each bucket's shards in order), so parallel
-- calls queue, never deadlock. Per-user buckets are unchanged: one row each.

-- The day's counts from before this migration go to shard 0 with no ceiling: until the first slow path has spread
-- them, no fast path takes (the other shards' slices would admit past the limit).
update public.rate_limits set subject = 'global:0' where subject = 'global';
-- A global shard's limit when it was last reserved from: what settling spreads the sum against.
alter table public.rate_limits add column if not exists ceiling bigint;

-- How much of `p_limit` shard `p_shard` (0-based, of p_shards) holds: an even split, the first ones one more.
create or replace function public.ceiling_slice(p_limit bigint, p_shard integer, p_shards integer) returns bigint
language sql
immutable
set search_path = ''
as $$
  select p_limit / p_shards + case when p_shard < p_limit % p_shards then 1 else 0 end;
$$;

-- Spread a global bucket's sum over its (locked) shards: as far as each one's slice, any excess on shard 0.
create or replace function public.spread_ceiling(
  p_bucket text, p_window_start timestamptz, p_limit bigint, p_total bigint, p_shards integer
) returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_room bigint := greatest(p_limit - p_total, 0);
  v_excess bigint := greatest(p_total - p_limit, 0);
  j integer;
begin
  for j in 0 .. p_shards - 1 loop
    update public.rate_limits r
    set used = public.ceiling_slice(p_limit, j, p_shards) - public.ceiling_slice(v_room, j, p_shards)
               + case when j = 0 then v_excess else 0 end,
        ceiling = p_limit
    where r.subject = 'global:' || j and r.bucket = p_bucket and r.window_start = p_window_start;
  end loop;
end;
$$;

drop function if exists public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[]);

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
      v_shard := floor(random() * least(c_shards, greatest(p_limits[i], 1)))::integer;
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

  -- Old windows (as before: two days by both clocks) are deleted by whoever can: rows another call is deleting
  -- are skipped, not waited for (parallel calls no longer queue on one global row, and could deadlock here).
  delete from public.rate_limits r
  where (r.subject, r.bucket, r.window_start) in (
    select o.subject, o.bucket, o.window_start from public.rate_limits o
    where o.window_start < least(to_timestamp(p_now), clock_timestamp()) - interval '2 days'
    for update skip locked);
end;
$$;

revoke execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.reserve_rate_limits(double precision, text[], text[], integer[], bigint[], bigint[])
  to service_role;

-- Settle reservations to what the requests really cost: add each delta (negative gives back), never below zero.
-- A global bucket's delta goes to the sum of its shards, spread again over them (their locks taken in order, after
-- the caller's own rows, as reserve_rate_limits takes them).
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
  c_shards constant integer := 8;
  c record;
  v_total bigint;
  v_limit bigint;
begin
  for c in
    select k.subject, k.bucket, to_timestamp(k.window_start) as window_start, k.delta
    from unnest(p_subjects, p_buckets, p_window_starts, p_deltas) as k(subject, bucket, window_start, delta)
    order by k.subject = 'global', k.bucket, k.subject, k.window_start
  loop
    if c.subject <> 'global' then
      update public.rate_limits r set used = greatest(r.used + c.delta, 0)
      where r.subject = c.subject and r.bucket = c.bucket and r.window_start = c.window_start;
      continue;
    end if;
    perform 1 from public.rate_limits r
    where r.subject like 'global:%' and r.bucket = c.bucket and r.window_start = c.window_start
    order by r.subject
    for update of r;
    select coalesce(sum(r.used), 0) into v_total from public.rate_limits r
    where r.subject like 'global:%' and r.bucket = c.bucket and r.window_start = c.window_start;
    select max(r.ceiling) into v_limit from public.rate_limits r
    where r.subject like 'global:%' and r.bucket = c.bucket and r.window_start = c.window_start;
    if v_limit is null then  -- no reservation has cut these shards: none can have been charged
      continue;
    end if;
    perform public.spread_ceiling(c.bucket, c.window_start, v_limit, greatest(v_total + c.delta, 0), c_shards);
  end loop;
end;
$$;

revoke execute on function public.settle_rate_limits(text[], text[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function public.settle_rate_limits(text[], text[], bigint[], bigint[]) to service_role;
revoke execute on function public.spread_ceiling(text, timestamptz, bigint, bigint, integer)
  from public, anon, authenticated;
grant execute on function public.spread_ceiling(text, timestamptz, bigint, bigint, integer) to service_role;
revoke execute on function public.ceiling_slice(bigint, integer, integer) from public, anon, authenticated;
grant execute on function public.ceiling_slice(bigint, integer, integer) to service_role;
