-- The plugin's JSON-RPC layer: one JSON message per line (the bridge answers in the framing the
-- client uses first, and lines are what jobstart hands us most naturally).
--
-- Three small parts, none of which touches the UI:
--   * line_buffer(): turns chunks split anywhere into complete lines;
--   * classify():    tells requests, notifications and responses apart;
--   * connection():  matches responses to our requests, dispatches the bridge's messages on the
--                    main loop, and answers every request the bridge sends exactly once (a request
--                    the bridge withdraws with $/cancelRequest is answered here, with -32800).
-- The transport (a write function) and the scheduler are injected, so tests drive it with strings.
local M = {}

-- Error codes we send or synthesize (JSON-RPC reserves -32768..-32000).
M.METHOD_NOT_FOUND = -32601
M.INTERNAL_ERROR = -32603
M.CONNECTION_CLOSED = -32000 -- our own: the bridge went away before answering
M.REQUEST_CANCELLED = -32800 -- as in LSP: the request no longer needs an answer

---------------------------------------------------------------------------------------------------
-- Line buffer

local LineBuffer = {}
LineBuffer.__index = LineBuffer

function M.line_buffer()
  return setmetatable({ parts = {} }, LineBuffer)
end

-- Feeds one chunk and returns the lines it completed (without "\n" or a trailing "\r"). The
-- unfinished tail is kept as a list of parts and joined once, so a 100 KB line arriving in many
-- chunks costs linear time.
function LineBuffer:feed(chunk)
  local lines = {}
  local start = 1
  while true do
    local nl = chunk:find("\n", start, true)
    if not nl then
      break
    end
    local line = chunk:sub(start, nl - 1)
    if #self.parts > 0 then
      self.parts[#self.parts + 1] = line
      line = table.concat(self.parts)
      self.parts = {}
    end
    if line:sub(-1) == "\r" then
      line = line:sub(1, -2)
    end
    lines[#lines + 1] = line
    start = nl + 1
  end
  if start <= #chunk then
    self.parts[#self.parts + 1] = chunk:sub(start)
  end
  return lines
end

-- The bytes of an unfinished line (what a stream that ends now would lose).
function LineBuffer:pending()
  return table.concat(self.parts)
end

---------------------------------------------------------------------------------------------------
-- Messages

function M.decode(line)
  -- JSON null inside objects becomes nil, so `if params.reason then` does what it says.
  local ok, msg = pcall(vim.json.decode, line, { luanil = { object = true } })
  if not ok then
    return nil, msg
  end
  return msg
end

-- "request" | "notification" | "response" | "invalid". A message with an id and no method is a
-- response (its result may be null); an error without an id is a response to nothing (the bridge
-- reporting a frame it could not read).
function M.classify(msg)
  if type(msg) ~= "table" then
    return "invalid"
  end
  if type(msg.method) == "string" then
    return msg.id ~= nil and "request" or "notification"
  end
  if msg.id ~= nil or msg.error ~= nil then
    return "response"
  end
  return "invalid"
end

-- Encodes one message as a line. nil params are left out; an empty Lua table would encode as
-- [], so callers pass vim.empty_dict() for an empty object.
function M.encode(msg)
  msg.jsonrpc = "2.0"
  return vim.json.encode(msg) .. "\n"
end

---------------------------------------------------------------------------------------------------
-- Connection

local Connection = {}
Connection.__index = Connection

-- opts:
--   write(data) -> boolean       sends bytes to the bridge (false when it cannot)
--   on_request(method, params, respond)   a request from the bridge; respond(result) or
--                                respond(nil, {code, message}); must be called exactly once
--   on_notification(method, params)
--   log(level, text)             optional; level is "debug" | "warn" | "error"
--   schedule(fn)                 optional, default vim.schedule: every callback runs on the main loop
function M.connection(opts)
  local self = setmetatable({}, Connection)
  self.write = assert(opts.write, "write is required")
  self.on_request = opts.on_request or function(method, _, respond)
    respond(nil, { code = M.METHOD_NOT_FOUND, message = "method not found: " .. method })
  end
  self.on_notification = opts.on_notification or function() end
  self.log = opts.log or function() end
  self.schedule = opts.schedule or vim.schedule
  self.lines = M.line_buffer()
  self.next_id = 1
  self.pending = {} -- our requests waiting for an answer: id -> {method, callback}
  self.incoming = {} -- the bridge's requests we have not answered yet: id -> respond
  self.closed = false
  return self
end

function Connection:send(msg)
  if self.closed then
    return false
  end
  return self.write(M.encode(msg))
end

-- Sends a request; callback(err, result) runs once, with err = {code, message, data?} on failure.
function Connection:request(method, params, callback)
  local id = self.next_id
  self.next_id = id + 1
  callback = callback or function() end
  if self.closed then
    self.schedule(function()
      callback({ code = M.CONNECTION_CLOSED, message = "the bridge is not running" })
    end)
    return nil
  end
  self.pending[id] = { method = method, callback = callback }
  if not self:send({ id = id, method = method, params = params }) then
    self.pending[id] = nil
    self.schedule(function()
      callback({ code = M.CONNECTION_CLOSED, message = "could not write to the bridge" })
    end)
    return nil
  end
  return id
end

function Connection:notify(method, params)
  return self:send({ method = method, params = params })
end

-- Feeds bytes read from the bridge. Lines are split now; each message is decoded and dispatched
-- in its own scheduled callback, in arrival order.
function Connection:receive(chunk)
  for _, line in ipairs(self.lines:feed(chunk)) do
    if line ~= "" then
      self.schedule(function()
        self:dispatch_line(line)
      end)
    end
  end
end

function Connection:dispatch_line(line)
  local msg, err = M.decode(line)
  if not msg then
    self.log("warn", "unreadable message from the bridge (" .. tostring(err) .. "): " .. line:sub(1, 200))
    return
  end
  self:dispatch(msg)
end

function Connection:dispatch(msg)
  local kind = M.classify(msg)
  if kind == "response" then
    local waiting = msg.id ~= nil and self.pending[msg.id]
    if not waiting then
      self.log("warn", "a response to no request of ours: " .. vim.json.encode(msg):sub(1, 300))
      return
    end
    self.pending[msg.id] = nil
    if msg.error ~= nil then
      waiting.callback(msg.error)
    else
      waiting.callback(nil, msg.result)
    end
  elseif kind == "notification" then
    if msg.method == "$/cancelRequest" then
      return self:withdraw((msg.params or {}).id)
    end
    self.on_notification(msg.method, msg.params or {})
  elseif kind == "request" then
    self:dispatch_request(msg)
  else
    self.log("warn", "not a JSON-RPC message: " .. vim.json.encode(msg):sub(1, 300))
  end
end

-- respond(result, err) returns true when the answer was sent; false when it could not be written,
-- or the request was already answered or withdrawn (its answer is not needed any more).
function Connection:dispatch_request(msg)
  local id = msg.id
  local answered, withdrawn = false, false
  local function respond(result, err)
    if answered then
      if withdrawn then
        self.log("debug", ("request %s (%s) was withdrawn; answer dropped"):format(tostring(id), msg.method))
      else
        self.log("warn", ("request %s (%s) was already answered"):format(tostring(id), msg.method))
      end
      return false
    end
    answered = true
    self.incoming[id] = nil
    if err then
      return self:send({ id = id, error = err })
    end
    return self:send({ id = id, result = result == nil and vim.NIL or result })
  end
  local function withdraw()
    withdrawn = true
    respond(nil, { code = M.REQUEST_CANCELLED, message = "withdrawn by the bridge" })
  end
  self.incoming[id] = { method = msg.method, params = msg.params, respond = respond, withdraw = withdraw }
  local ok, failure = pcall(self.on_request, msg.method, msg.params or {}, respond)
  if not ok and not answered then
    self.log("error", ("handler for %s failed: %s"):format(msg.method, tostring(failure)))
    respond(nil, { code = M.INTERNAL_ERROR, message = tostring(failure) })
  end
end

-- $/cancelRequest {id}: the bridge no longer needs that answer (for an approval: it was resolved
-- elsewhere, and coco/approval/resolved follows). LSP's acknowledgement is the error -32800; the
-- handler's own answer, if it comes later, is dropped. An id we already answered is ignored.
function Connection:withdraw(id)
  local request = id ~= nil and self.incoming[id]
  if request then
    request.withdraw()
  end
end

-- The requests from the bridge still waiting for our answer: {id = {method, params, respond, withdraw}}.
function Connection:unanswered()
  return self.incoming
end

-- The bridge is gone: every request of ours fails once, and late answers to the bridge's requests
-- are dropped (there is nobody to read them).
function Connection:close(reason)
  if self.closed then
    return
  end
  self.closed = true
  local pending = self.pending
  self.pending = {}
  self.incoming = {}
  for _, waiting in pairs(pending) do
    self.schedule(function()
      waiting.callback({ code = M.CONNECTION_CLOSED, message = reason or "the bridge exited" })
    end)
  end
end

return M
