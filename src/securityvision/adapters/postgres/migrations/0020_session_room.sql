-- Room for a session's extensions on its own page. Extending a session writes a new version
-- of its row; when the page has room for it and no indexed column changes (0017), the update
-- is HOT and touches no index. A batch often extends every session on a page (sessions opened
-- together are heard together), so the new versions need as much room as the rows themselves
-- take: at fillfactor 80 (0011) more than half of the extensions of the bench's site load
-- moved to another page, each a new entry in all seven indexes. Filled to half, every one of
-- them stays (bench/ingest_batches.py --neighbours 3: 63 -> 25 ms of PostgreSQL per batch of
-- 5,000 extensions). The cost is space: closed sessions keep their page's room too.
-- Applies to pages filled from now on; existing pages keep their rows as they are.
ALTER TABLE presence_sessions SET (fillfactor = 50);
