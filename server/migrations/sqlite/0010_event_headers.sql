-- The headers of an event's last delivery attempt, as a JSON list of [name, value] pairs, for the event log.
ALTER TABLE events ADD COLUMN last_headers TEXT;
