-- Search finds the rooms the caller is a member of too, as the conversation list shows them (issue 28: "the
-- caller's own conversations and rooms"): the same literal, case-insensitive test on the title and the shown
-- messages, the same order and pages as search_conversations. A member's rooms are few: each is read through its
-- own messages, newest first, up to the first match.
create or replace function public.search_rooms(
  p_user_id uuid,
  p_query text,
  p_limit integer default 50,
  p_before_updated_at timestamptz default null,
  p_before_id uuid default null
) returns table (id uuid, title text, created_at timestamptz, updated_at timestamptz, snippet text)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_pattern text := '%' || replace(replace(replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%';
begin
  return query
  select c.id, c.title, c.created_at, c.updated_at, hit.content
  from public.conversation_members me
  join public.conversations c on c.id = me.conversation_id
  left join lateral (select m.content from public.messages m
                     where m.conversation_id = c.id and m.user_id = c.user_id and m.shown
                       and m.content ilike v_pattern
                     order by m.id desc limit 1) hit on true
  where me.user_id = p_user_id and me.role = 'member' and c.user_id <> p_user_id
    and (p_before_updated_at is null or (c.updated_at, c.id) < (p_before_updated_at, p_before_id))
    and (hit.content is not null or c.title ilike v_pattern)
  order by c.updated_at desc, c.id desc
  limit greatest(1, least(p_limit, 101));
end;
$$;

revoke execute on function public.search_rooms(uuid, text, integer, timestamptz, uuid) from public, anon, authenticated;
grant execute on function public.search_rooms(uuid, text, integer, timestamptz, uuid) to service_role;
