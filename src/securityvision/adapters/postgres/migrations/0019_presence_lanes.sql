-- Presence is written in lanes: a worker stores a batch's readings as one transaction per
-- lane (tag id modulo the lane count), so that PostgreSQL runs one lane's statements while
-- the worker works out another's. Each lane has its own writer row, claimed by the lane's
-- transactions only; a writer outside the lanes (a reading typed in, a worker not using
-- lanes) claims every row, in lane order.
ALTER TABLE presence_writer ADD COLUMN lane smallint;
UPDATE presence_writer SET lane = 0;
ALTER TABLE presence_writer DROP COLUMN id;
ALTER TABLE presence_writer ALTER COLUMN lane SET NOT NULL, ADD PRIMARY KEY (lane);
