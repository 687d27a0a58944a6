-- A console flow, once completed, is kept until it expires with the instance it made, so that the browser's Back
-- to the landing page opens that instance instead of failing. 0 marks a flow being completed; NULL, one not used.
ALTER TABLE oauth_flows ADD COLUMN completed_instance_id BIGINT;
