-- wrk_common: what the wrk scripts share; loaded with require from the
-- repository's root (where the bench scripts run wrk).
--   setup() gives each wrk thread its number as the global `tid`;
--   post_json(key) makes every request a JSON POST with that Bearer key.
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local M = {}

function M.post_json(key)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

return M
