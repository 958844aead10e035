-- Indexed, paged search (issues 24 and 28). Search used to test every message of the table against the query
-- (a parallel sequential scan of messages); now a trigram index answers `content ilike '%…%'`, the same test
-- with the same results (case-insensitive, literal, any language), and the caller's own messages are reached
-- through their user_id index when that is cheaper. Results come in pages: newest first, ties broken by id.

create extension if not exists pg_trgm with schema extensions;

create index if not exists messages_content_trgm_idx on public.messages using gin (content extensions.gin_trgm_ops);
create index if not exists conversations_user_id_updated_at_id_idx
  on public.conversations (user_id, updated_at desc, id desc);
drop index if exists public.conversations_user_id_updated_at_idx;  -- the index above serves all it served

drop function if exists public.search_conversations(uuid, text, integer);

-- The user's conversations whose title or any message contains p_query (case-insensitive, literal: % and _
-- match themselves), most recently updated first (ties: the greater id first), only those after
-- (p_before_updated_at, p_before_id) in that order when given; each with the newest matching message (null when
-- only the title matches).
create or replace function public.search_conversations(
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
  with hits as (
    select m.conversation_id, max(m.id) as newest
    from public.messages m
    where m.user_id = p_user_id
      and m.content ilike '%' || replace(replace(replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%'
    group by m.conversation_id
  )
  select c.id, c.title, c.created_at, c.updated_at,
         (select m.content from public.messages m where m.id = h.newest) as snippet
  from public.conversations c
  left join hits h on h.conversation_id = c.id
  where c.user_id = p_user_id
    and (h.newest is not null
         or c.title ilike '%' || replace(replace(replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%')
    and (p_before_updated_at is null or (c.updated_at, c.id) < (p_before_updated_at, p_before_id))
  order by c.updated_at desc, c.id desc
  limit greatest(1, least(p_limit, 101));
$$;

revoke execute on function public.search_conversations(uuid, text, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function public.search_conversations(uuid, text, integer, timestamptz, uuid) to service_role;
