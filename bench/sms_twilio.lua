-- wrk script: POST /sms/inbound/twilio with signed webhooks made ahead of
-- time by bench/twilio_requests.py (wrk's Lua has no HMAC). Thread n reads
-- $OPTD_BENCH_REQUESTS.n, one "signature<TAB>body" line per request, in
-- order; each line is used once. A thread that reaches the end of its file
-- starts it again, and those requests repeat a MessageSid (optd answers
-- them as duplicates): done() prints how many there were, so the script
-- running wrk can tell whether the stored rows can be compared at all.
local threads = {}
local prefix = os.getenv("OPTD_BENCH_REQUESTS") or "/tmp/sms-requests"
local file
local wrapped = false
repeats = 0 -- global: done() reads it through thread:get()

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(prefix .. "." .. tid, "r"))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local line = file:read("*l")
  if line == nil then
    wrapped = true
    file:seek("set", 0)
    line = file:read("*l")
  end
  if wrapped then
    repeats = repeats + 1
  end
  local sig, body = line:match("^([^\t]*)\t(.*)$")
  wrk.headers["X-Twilio-Signature"] = sig
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("repeats") or 0)
  end
  io.write(string.format("repeated requests: %d\n", n))
end
