-- GET and DELETE /api/v1/collection-logs/{id} address a reading by id, which is not part of
-- the table's key (tag_id, created_at, device_id): without an index each such call would scan
-- every partition.
CREATE INDEX collection_logs_id ON collection_logs (id);
