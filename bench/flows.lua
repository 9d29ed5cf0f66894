-- wrk script: POST /users/track, one phone_number_captured event per
-- request, each for a new user (external_id uN, phone +1 212 NXX-XXXX).
--
-- OPTD_BENCH_RATE (requests/s for the whole run, 0 = as fast as the
-- connections go) paces the load: each thread hands out send times on a
-- fixed schedule from its first request, so the offered load stays at the
-- rate however slowly optd answers, as long as a connection is free.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } optd_timespec;
int clock_gettime(int clk, optd_timespec *ts);
]]
local ts = ffi.new("optd_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

package.path = "bench/?.lua;" .. package.path
local common = require("wrk_common")
local counter = 0
local key = os.getenv("OPTD_BENCH_KEY") or ""
local rate = tonumber(os.getenv("OPTD_BENCH_RATE") or "0")
local interval, next_ms

function init(args)
  common.post_json(key)
  -- each thread offers its share of the rate
  local n = tonumber(os.getenv("OPTD_BENCH_THREADS") or "1")
  if rate > 0 then
    interval = 1000 * n / rate
  end
end

-- wrk asks before every request (the first one too) how long to wait.
if rate > 0 then
  function delay()
    local t = now_ms()
    if not next_ms then
      next_ms = t
    end
    local d = next_ms - t
    next_ms = next_ms + interval
    if d < 1 then
      return 0
    end
    return math.floor(d)
  end
end

function request()
  counter = counter + 1
  -- Each thread has its own block of a million users. 212 is Manhattan;
  -- exchanges 200-999 are all valid (no 555-01xx fiction numbers).
  local n = tid * 1000000 + counter
  local phone = string.format("+1212%07d", 2000000 + n % 8000000)
  local body = string.format(
    '{"events":[{"external_id":"u%d","name":"phone_number_captured",' ..
    '"time":"2026-01-01T00:00:00Z",' ..
    '"properties":{"phone_number":"%s"}}]}', n, phone)
  return wrk.format(nil, nil, nil, body)
end
