-- Indexed, paged search (issues 24 and 28). Search used to test every message of the table against the query
-- (a parallel sequential scan of messages); now it reads only the caller's: conversation by conversation for the
-- newest, then through an index of each user's trigrams. The same `content ilike '%…%'` test, so the same results
-- (case-insensitive, literal, any language). Results come in pages: newest first, ties broken by id.

create extension if not exists pg_trgm with schema extensions;
create extension if not exists btree_gin with schema extensions;

-- One GIN index over the user and the text's trigrams: a search reads only the caller's entries of the words'
-- trigrams (a trigram index alone reads every user's, then intersects: 370 ms for two common words on 1M rows).
create index if not exists messages_user_id_content_trgm_idx
  on public.messages using gin (user_id extensions.uuid_ops, content extensions.gin_trgm_ops);
create index if not exists conversations_user_id_updated_at_id_idx
  on public.conversations (user_id, updated_at desc, id desc);
drop index if exists public.conversations_user_id_updated_at_idx;  -- the index above serves all it served

drop function if exists public.search_conversations(uuid, text, integer);

-- The user's conversations whose title or any message contains p_query (case-insensitive, literal: % and _
-- match themselves), most recently updated first (ties: the greater id first), only those after
-- (p_before_updated_at, p_before_id) in that order when given; each with the newest matching message (null when
-- only the title matches). Two steps: the newest 200 conversations, each tested on its own messages (all of an
-- ordinary user's; a common word fills the page there); then, only if the page is not full and there are older
-- ones, those through the (user, trigrams) index, planned for each call's own words (plan_cache_mode): a
-- generic plan would weigh the index without knowing how rare the words are.
create or replace function public.search_conversations(
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
set plan_cache_mode = force_custom_plan
as $$
declare
  v_pattern text := '%' || replace(replace(replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  v_limit integer := greatest(1, least(p_limit, 101));
  v_found integer;
  v_edge record;
begin
  return query
  select c.id, c.title, c.created_at, c.updated_at, hit.content
  from (select r.id, r.title, r.created_at, r.updated_at from public.conversations r
        where r.user_id = p_user_id
          and (p_before_updated_at is null or (r.updated_at, r.id) < (p_before_updated_at, p_before_id))
        order by r.updated_at desc, r.id desc limit 200) c
  left join lateral (select m.content from public.messages m
                     where m.conversation_id = c.id and m.user_id = p_user_id and m.shown and m.content ilike v_pattern
                     order by m.id desc limit 1) hit on true
  where hit.content is not null or c.title ilike v_pattern
  order by c.updated_at desc, c.id desc
  limit v_limit;
  get diagnostics v_found = row_count;
  if v_found >= v_limit then
    return;
  end if;
  select r.updated_at, r.id into v_edge from public.conversations r
  where r.user_id = p_user_id
    and (p_before_updated_at is null or (r.updated_at, r.id) < (p_before_updated_at, p_before_id))
  order by r.updated_at desc, r.id desc offset 199 limit 1;
  if not found then
    return;  -- the first step saw every conversation
  end if;
  return query
  select c.id, c.title, c.created_at, c.updated_at,
         (select m.content from public.messages m
          where m.conversation_id = c.id and m.user_id = p_user_id and m.shown and m.content ilike v_pattern
          order by m.id desc limit 1)
  from public.conversations c
  where c.user_id = p_user_id
    and (c.updated_at, c.id) < (v_edge.updated_at, v_edge.id)
    and (c.title ilike v_pattern
         or exists (select 1 from public.messages m
                    where m.conversation_id = c.id and m.user_id = p_user_id and m.shown and m.content ilike v_pattern))
  order by c.updated_at desc, c.id desc
  limit v_limit - v_found;
end;
$$;

revoke execute on function public.search_conversations(uuid, text, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function public.search_conversations(uuid, text, integer, timestamptz, uuid) to service_role;
