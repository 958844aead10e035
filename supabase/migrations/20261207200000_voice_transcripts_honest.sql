-- Issue 23: only the server speaks for the assistant. A voice call's transcript is reported by the caller's
-- browser, so what it says the assistant said is the caller's report, not the assistant's turn: the transcript
-- route now stores it as the caller's quoted note (role 'user', source 'voice'; lib/transcripts.py,
-- device_note). Rows written before, as role 'assistant' with source 'voice', become the same note (in French,
-- the dashboard's first language), so they are never again replayed to OpenAI, or shown to a room, as the
-- assistant's. Typed chat replies (source 'text'), which the server received from OpenAI, are untouched.
update public.messages
set role = 'user',
    status = 'complete',
    content = case when status = 'interrupted'
                   then 'Transcription rapportée par mon appareil de ce que l''assistant vocal a dit avant d''être '
                        'interrompu (non vérifiée) :'
                   else 'Transcription rapportée par mon appareil de ce que l''assistant vocal a dit (non vérifiée) :'
              end
              || E'\n' || regexp_replace(btrim(content, E' \t\r\n'), '^', '> ', 'gn')
where role = 'assistant' and source = 'voice';

-- A call hung up through our server (DELETE /api/realtime/call) is over: its transcript is accepted for a short
-- while more (lib/transcripts.py), not for the rest of OpenAI's 60 minutes. Written by the server (service role)
-- only, like the rest of the table.
alter table public.realtime_calls add column if not exists ended_at timestamptz;
