-- wrk script: POST /subscription/status/set, one distinct phone per request.
-- Each wrk thread takes its own block of a million numbers
-- (+1 650 2xx-xxxx upwards), so no phone repeats within a run.
package.path = "bench/?.lua;" .. package.path
local common = require("wrk_common")
local counter = 0
local group = os.getenv("OPTD_BENCH_GROUP") or "bench-group"
local key = os.getenv("OPTD_BENCH_KEY") or ""

function init(args)
  common.post_json(key)
end

function request()
  counter = counter + 1
  local phone = string.format("+1650%07d",
                              2000000 + tid * 1000000 + counter % 1000000)
  local body = string.format(
    '{"subscription_group_id":"%s","subscription_state":"subscribed",' ..
    '"phone":"%s"}', group, phone)
  return wrk.format(nil, nil, nil, body)
end
