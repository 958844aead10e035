-- Settling a deployment-wide bucket takes one shard, not all of them (issue 28: "ceilings do not serialise the
-- deployment"). Every reply settles its token reservation to what it really cost, and settle_rate_limits locked
-- every shard of global:tokens:day to add the difference: each message's settlement waited for every other's,
-- and held up the reservations' fast paths meanwhile. Now the difference goes to one shard, picked at random, when
-- that keeps the shard within its slice, as a reservation's fast path takes (see 20261207800000_sharded_ceilings.sql):
--   more than reserved: the shard takes it if it stays within its slice;
--   less than reserved: the shard gives it back if it is below its slice (then every shard is within its own: at or
--                       past the limit, every shard is at least at its slice) and holds that much.
-- Either way every shard stays within its slice, so a fast path still admits only under the limit. Otherwise (near
-- the limit, or a window counted before the shards) the slow path is unchanged: every shard locked in order, the
-- sum corrected (never below zero) and spread again.
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
  v_shard integer;
  v_done boolean;
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
    v_shard := floor(random() * c_shards)::integer;
    v_done := null;
    -- In its own subtransaction, as the reservation's fast path: an UPDATE that waited for the row and then found it
    -- does not fit still holds the row's lock; rolling back lets it go before the slow path locks the shards in order.
    begin
      update public.rate_limits r set used = r.used + c.delta
      where r.subject = 'global:' || v_shard and r.bucket = c.bucket and r.window_start = c.window_start
        and r.ceiling is not null
        and case when c.delta > 0 then r.used + c.delta <= public.ceiling_slice(r.ceiling, v_shard, c_shards)
                 else r.used < public.ceiling_slice(r.ceiling, v_shard, c_shards) and r.used + c.delta >= 0 end
        and exists (select 1 from public.rate_limits z  -- not a window counted before the shards, unspread
                    where z.subject = 'global:0' and z.bucket = c.bucket and z.window_start = c.window_start
                      and z.ceiling is not null)
      returning true into v_done;
      if v_done is null then
        raise exception 'no room in this shard' using errcode = 'RL001';
      end if;
    exception when sqlstate 'RL001' then
      v_done := null;
    end;
    if v_done then
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
