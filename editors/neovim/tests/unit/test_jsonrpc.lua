local T = require("testing")
local jsonrpc = require("coco.jsonrpc")

-- A stream of four messages with the awkward parts: CRLF, multi-byte UTF-8, an escaped newline,
-- a 100 KB line.
local big = string.rep("x", 100 * 1024)
local messages = {
  { id = 1, result = { text = "héllo ✓" } },
  { method = "item/agentMessage/delta", params = { delta = "a\nb" } },
  { id = 7, method = "coco/approval/request", params = { gateId = "g1" } },
  { method = "big", params = { data = big } },
}
local function stream()
  local parts = {}
  for i, m in ipairs(messages) do
    parts[#parts + 1] = vim.json.encode(m) .. (i == 2 and "\r\n" or "\n")
  end
  return table.concat(parts)
end

-- The offset of the last byte before the big (fourth) message.
local function small_end(data)
  local pos = 0
  for _ = 1, 3 do
    pos = data:find("\n", pos + 1, true)
  end
  return pos
end

local function decode_all(lines)
  local out = {}
  for _, l in ipairs(lines) do
    out[#out + 1] = vim.json.decode(l)
  end
  return out
end

T.test("line buffer: a stream split at every byte gives the same messages", function()
  local data = stream()
  local whole = decode_all(jsonrpc.line_buffer():feed(data))
  T.eq(#whole, 4, "messages in one chunk")
  T.eq(whole[1].result.text, "héllo ✓")
  T.eq(#whole[4].params.data, #big)
  -- Every split point of the first three messages (the big one would make this quadratic).
  local small = data:sub(1, small_end(data))
  for cut = 0, #small do
    local buf = jsonrpc.line_buffer()
    local lines = buf:feed(small:sub(1, cut))
    vim.list_extend(lines, buf:feed(small:sub(cut + 1)))
    T.eq(decode_all(lines), { whole[1], whole[2], whole[3] }, "split at byte " .. cut)
    T.eq(buf:pending(), "", "nothing left over after byte " .. cut)
  end
end)

T.test("line buffer: one byte at a time, then the big line in 7-byte chunks", function()
  local data = stream()
  local buf = jsonrpc.line_buffer()
  local lines = {}
  local last_small = small_end(data)
  for i = 1, last_small do
    vim.list_extend(lines, buf:feed(data:sub(i, i)))
  end
  for i = last_small + 1, #data, 7 do
    vim.list_extend(lines, buf:feed(data:sub(i, i + 6)))
  end
  T.eq(#lines, 4)
  T.eq(decode_all(lines)[4].params.data == big, true, "the big line survives")
end)

T.test("line buffer: an unfinished line is kept until its newline", function()
  local buf = jsonrpc.line_buffer()
  T.eq(buf:feed('{"a":'), {})
  T.eq(buf:pending(), '{"a":')
  T.eq(buf:feed('1}\n{"b"'), { '{"a":1}' })
  T.eq(buf:pending(), '{"b"')
end)

T.test("classify: requests, notifications, responses (null result too), invalid", function()
  T.eq(jsonrpc.classify({ id = 1, method = "m" }), "request")
  T.eq(jsonrpc.classify({ id = "s", method = "m", params = {} }), "request")
  T.eq(jsonrpc.classify({ method = "m" }), "notification")
  T.eq(jsonrpc.classify({ id = 1, result = {} }), "response")
  T.eq(jsonrpc.classify(jsonrpc.decode('{"id":3,"result":null}')), "response")
  T.eq(jsonrpc.classify({ id = 1, error = { code = 1 } }), "response")
  T.eq(jsonrpc.classify(jsonrpc.decode('{"id":null,"error":{"code":-32700,"message":"x"}}')), "response")
  T.eq(jsonrpc.classify({ foo = 1 }), "invalid")
  T.eq(jsonrpc.classify("text"), "invalid")
end)

-- A connection whose writes are collected and whose scheduled callbacks run when we say so.
local function harness(handlers)
  local h = { written = {}, queue = {} }
  h.conn = jsonrpc.connection(vim.tbl_extend("force", {
    write = function(data)
      h.written[#h.written + 1] = vim.json.decode(data)
      T.eq(data:sub(-1), "\n", "one line per message")
      T.eq(select(2, data:gsub("\n", "")), 1, "no raw newline inside a message")
      return true
    end,
    schedule = function(fn)
      h.queue[#h.queue + 1] = fn
    end,
  }, handlers or {}))
  function h.run()
    while #h.queue > 0 do
      table.remove(h.queue, 1)()
    end
  end
  function h.feed(msg)
    h.conn:receive(vim.json.encode(msg) .. "\n")
  end
  return h
end

T.test("connection: responses reach their callbacks, in any order, on the scheduler", function()
  local h = harness()
  local got = {}
  local a = h.conn:request("a", { x = 1 }, function(err, result)
    got[#got + 1] = { "a", err, result }
  end)
  local b = h.conn:request("b", vim.empty_dict(), function(err, result)
    got[#got + 1] = { "b", err, result }
  end)
  T.eq(h.written[1], { jsonrpc = "2.0", id = a, method = "a", params = { x = 1 } })
  T.contains(vim.json.encode(h.written[2]), '"params":{}', "empty params are an object")
  h.feed({ id = b, error = { code = -32600, message = "bad" } })
  h.conn:receive('{"id":' .. a .. ',"result":null}\n')
  T.eq(got, {}, "nothing runs before the scheduler does")
  h.run()
  T.eq(got, { { "b", { code = -32600, message = "bad" } }, { "a", nil, nil } })
end)

T.test("connection: notifications are dispatched in arrival order", function()
  local seen = {}
  local h = harness({
    on_notification = function(method, params)
      seen[#seen + 1] = method .. ":" .. tostring(params.n)
    end,
  })
  h.conn:receive('{"method":"one","params":{"n":1}}\n{"method":"two","params":{"n":2}}\n{"meth')
  h.conn:receive('od":"three"}\n')
  h.run()
  T.eq(seen, { "one:1", "two:2", "three:nil" })
end)

T.test("connection: every request of the bridge gets exactly one answer", function()
  local later
  local h = harness({
    on_request = function(method, params, respond)
      if method == "twice" then
        respond({ first = true })
        respond({ second = true })
      elseif method == "throws" then
        error("boom")
      elseif method == "later" then
        later = respond
      else
        respond(nil, { code = jsonrpc.METHOD_NOT_FOUND, message = "no " .. method })
      end
    end,
  })
  h.feed({ id = 1, method = "twice" })
  h.feed({ id = 2, method = "throws" })
  h.feed({ id = 3, method = "unknown/method" })
  h.feed({ id = "s4", method = "later", params = { gateId = "g1" } })
  h.run()
  T.eq(#h.written, 3, "three answers so far")
  T.eq(h.written[1], { jsonrpc = "2.0", id = 1, result = { first = true } })
  T.eq(h.written[2].id, 2)
  T.eq(h.written[2].error.code, jsonrpc.INTERNAL_ERROR)
  T.eq(h.written[3].error.code, jsonrpc.METHOD_NOT_FOUND)
  T.truthy(h.conn:unanswered()["s4"], "the open request is tracked")
  later(nil)
  later({ again = true })
  T.eq(#h.written, 4, "the late second answer is not sent")
  T.eq(h.written[4], { jsonrpc = "2.0", id = "s4", result = vim.NIL }, "a nil result is null")
  T.eq(h.conn:unanswered()["s4"], nil)
end)

T.test("connection: a request withdrawn with $/cancelRequest is answered -32800 once; the handler's answer is dropped", function()
  local pending, logged, notified = {}, {}, {}
  local h = harness({
    on_request = function(_, params, respond)
      pending[params.gateId] = respond
    end,
    on_notification = function(method)
      notified[#notified + 1] = method
    end,
    log = function(level, text)
      logged[#logged + 1] = level .. ":" .. text
    end,
  })
  h.feed({ id = 3, method = "coco/approval/request", params = { gateId = "g1" } })
  h.feed({ id = "s4", method = "coco/approval/request", params = { gateId = "g2" } })
  h.feed({ method = "$/cancelRequest", params = { id = 3 } })
  h.feed({ method = "$/cancelRequest", params = { id = 99 } }) -- unknown: nothing to do
  h.run()
  T.eq(h.written, { { jsonrpc = "2.0", id = 3, error = { code = jsonrpc.REQUEST_CANCELLED, message = "withdrawn by the bridge" } } })
  T.eq(h.conn:unanswered()[3], nil)
  T.truthy(h.conn:unanswered()["s4"], "the other request is still open")
  T.eq(notified, {}, "$/cancelRequest is the connection's business")
  T.eq(pending.g1({ optionId = "accept" }), false, "the late answer is not sent")
  T.eq(#h.written, 1)
  T.eq(vim.tbl_filter(function(l)
    return l:find("^warn") ~= nil
  end, logged), {}, "a withdrawn request's late answer is no warning")
  T.eq(pending.g2({ optionId = "accept" }), true, "an open request's answer is sent")
  h.feed({ method = "$/cancelRequest", params = { id = "s4" } }) -- already answered: ignored
  h.run()
  T.eq(#h.written, 2)
  T.eq(h.written[2], { jsonrpc = "2.0", id = "s4", result = { optionId = "accept" } })
end)

T.test("connection: the default handler refuses unknown requests", function()
  local h = harness()
  h.feed({ id = 9, method = "x/y" })
  h.run()
  T.eq(h.written[1].error.code, jsonrpc.METHOD_NOT_FOUND)
end)

T.test("connection: close fails our pending requests once and drops late answers", function()
  local later
  local h = harness({
    on_request = function(_, _, respond)
      later = respond
    end,
  })
  local errors = {}
  h.conn:request("pending", nil, function(err)
    errors[#errors + 1] = err.code
  end)
  h.feed({ id = 5, method = "ask" })
  h.run()
  h.conn:close("gone")
  h.run()
  T.eq(errors, { jsonrpc.CONNECTION_CLOSED })
  local before = #h.written
  later({ optionId = "accept" })
  T.eq(#h.written, before, "nothing written after close")
  local after_close
  h.conn:request("x", nil, function(err)
    after_close = err
  end)
  h.run()
  T.eq(after_close.code, jsonrpc.CONNECTION_CLOSED)
end)

T.test("connection: unreadable lines are logged and skipped", function()
  local logged, seen = {}, {}
  local h = harness({
    log = function(level, text)
      logged[#logged + 1] = level .. ":" .. text
    end,
    on_notification = function(m)
      seen[#seen + 1] = m
    end,
  })
  h.conn:receive('not json\n{"method":"ok"}\n')
  h.run()
  T.eq(seen, { "ok" })
  T.contains(logged[1], "unreadable message")
end)
