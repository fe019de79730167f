-- Reports over recent windows (the last hour, today) read the sessions that end inside the
-- window: without this index a window's sessions were found by their start only, from 26
-- hours before the window (the longest a session can last, split at midnight), i.e. a day
-- of sessions read to answer for an hour. Sessions that are extended at ingest are rarely
-- updated in place on their page (HOT) anyway: sessions are appended in time order and
-- their pages fill up, so one more index costs ingest little.
CREATE INDEX presence_sessions_end ON presence_sessions (ended_at);
