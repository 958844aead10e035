-- Search is one request to the store (issue 28): the caller's own conversations and the rooms they are a member of,
-- found by search_conversations and search_rooms in one call, in the list's order (the API made two calls, one
-- after the other, and merged them).
create or replace function public.search_history(
  p_user_id uuid,
  p_query text,
  p_limit integer default 50,
  p_before_updated_at timestamptz default null,
  p_before_id uuid default null
) returns table (id uuid, title text, created_at timestamptz, updated_at timestamptz, snippet text)
language sql
stable
security invoker
set search_path = ''
as $$
  select found.* from (
    select * from public.search_conversations(p_user_id, p_query, p_limit, p_before_updated_at, p_before_id)
    union all
    select * from public.search_rooms(p_user_id, p_query, p_limit, p_before_updated_at, p_before_id)
  ) found
  order by found.updated_at desc, found.id desc
  limit greatest(1, least(p_limit, 101));
$$;

revoke execute on function public.search_history(uuid, text, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function public.search_history(uuid, text, integer, timestamptz, uuid) to service_role;
