-- A tiny test runner for headless Neovim: register cases, run them, print one line per case,
-- exit non-zero on any failure. Cases may block on vim.wait (the event loop keeps running).
local T = {}

local cases = {}

function T.test(name, fn)
  cases[#cases + 1] = { name = name, fn = fn }
end

local function fail(text, level)
  error(text, (level or 1) + 2)
end

function T.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    fail(("%s:\n  expected %s\n  got      %s"):format(what or "value", vim.inspect(expected), vim.inspect(actual)))
  end
end

function T.truthy(value, what)
  if not value then
    fail((what or "condition") .. " does not hold (" .. vim.inspect(value) .. ")")
  end
  return value
end

function T.contains(haystack, needle, what)
  if type(haystack) == "table" then
    haystack = table.concat(haystack, "\n")
  end
  if not tostring(haystack):find(needle, 1, true) then
    fail(("%s: %q not found in:\n%s"):format(what or "text", needle, haystack))
  end
end

function T.not_contains(haystack, needle, what)
  if type(haystack) == "table" then
    haystack = table.concat(haystack, "\n")
  end
  if tostring(haystack):find(needle, 1, true) then
    fail(("%s: %q should not be in:\n%s"):format(what or "text", needle, haystack))
  end
end

-- Waits (running the event loop) until predicate() is true; fails with `what` after timeout_ms.
function T.wait_for(predicate, what, timeout_ms, on_timeout)
  local ok = vim.wait(timeout_ms or 30000, function()
    local good, value = pcall(predicate)
    return good and value
  end, 20)
  if not ok then
    local extra = on_timeout and ("\n" .. on_timeout()) or ""
    fail("timed out waiting for " .. (what or "a condition") .. extra)
  end
end

local function out(text)
  io.stdout:write(text .. "\n")
  io.stdout:flush()
end
T.out = out

-- Runs every registered case (those whose name contains the filter env COCO_TEST_FILTER, if set)
-- and returns the number of failures.
function T.run(after_each)
  local failures = 0
  local filter = os.getenv("COCO_TEST_FILTER")
  for _, case in ipairs(cases) do
    if not filter or case.name:find(filter, 1, true) then
      local started = (vim.uv or vim.loop).hrtime()
      local ok, err = xpcall(case.fn, debug.traceback)
      local ms = ((vim.uv or vim.loop).hrtime() - started) / 1e6
      if ok then
        out(("ok     %s (%.0f ms)"):format(case.name, ms))
      else
        failures = failures + 1
        out(("FAILED %s (%.0f ms)\n%s"):format(case.name, ms, err))
      end
      if after_each then
        local ok2, err2 = pcall(after_each, case, ok)
        if not ok2 then
          out("after_each failed: " .. tostring(err2))
        end
      end
    end
  end
  out(("%d of %d failed"):format(failures, #cases))
  return failures
end

-- Ends Neovim with the suite's verdict.
function T.exit(failures)
  if failures == 0 then
    vim.cmd("qall!")
  else
    vim.cmd("cquit 1")
  end
end

-- Runs body() and exits: 0 when it returned 0 failures, 1 on failures or any error.
function T.main(body)
  local ok, result = xpcall(body, debug.traceback)
  if not ok then
    out("suite error: " .. tostring(result))
    T.exit(1)
  end
  T.exit(result)
end

return T
