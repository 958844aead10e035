-- Reading a conversation is one request to the store (issue 28): the caller's access, the conversation, one page of
-- its messages and, for a room, its members, in one statement over one snapshot. A room poll (p_after) reads the
-- messages after the newest it has, oldest first; an opening (no p_after) reads the newest page, and p_before pages
-- back from there. One row more than p_limit says whether more lie beyond the page. Only the shown branch's
-- messages (answer versions: 20261207400000_answer_versions.sql). Service role only.

create or replace function public.conversation_read(p_user_id uuid, p_conversation_id uuid, p_after bigint,
                                                    p_before bigint, p_limit integer)
returns jsonb
language sql stable security invoker set search_path = ''
as $$
  with access as (
    select c.id, c.user_id as owner_id, c.title, c.created_at, c.updated_at, c.assistant_replies,
           case when c.user_id = p_user_id then 'owner' else m.role end as role,
           exists (select 1 from public.conversation_members o where o.conversation_id = c.id) as is_room
    from public.conversations c
    left join public.conversation_members m on m.conversation_id = c.id and m.user_id = p_user_id
    where c.id = p_conversation_id and (c.user_id = p_user_id or m.user_id is not null)
  ), page as (
    select x.* from access a, lateral (
      select id, role, content, status, source, created_at, author_id, author_name from public.messages
      where conversation_id = a.id and user_id = a.owner_id and shown and p_after is not null and id > p_after
      order by id limit p_limit + 1
    ) x
    union all
    select y.* from access a, lateral (
      select id, role, content, status, source, created_at, author_id, author_name from public.messages
      where conversation_id = a.id and user_id = a.owner_id and shown and p_after is null
        and id < coalesce(p_before, 9223372036854775807)
      order by id desc limit p_limit + 1
    ) y
  )
  select jsonb_build_object(
    'owner_id', a.owner_id, 'role', a.role, 'is_room', a.is_room, 'assistant_replies', a.assistant_replies,
    'conversation', jsonb_build_object('id', a.id, 'title', a.title, 'created_at', a.created_at,
                                       'updated_at', a.updated_at),
    'messages', coalesce((select jsonb_agg(to_jsonb(p) order by p.id) from page p), '[]'::jsonb),
    'members', case when a.is_room then
      (select jsonb_agg(jsonb_build_object('userId', o.user_id, 'name', o.name, 'role', o.role)
                        order by o.role desc, o.joined_at)
       from public.conversation_members o where o.conversation_id = a.id) end)
  from access a
$$;

revoke execute on function public.conversation_read(uuid, uuid, bigint, bigint, integer)
  from public, anon, authenticated;
grant execute on function public.conversation_read(uuid, uuid, bigint, bigint, integer) to service_role;
