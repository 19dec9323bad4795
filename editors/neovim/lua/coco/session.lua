-- One conversation with Codex through `coco bridge`: starts the bridge when a command needs it,
-- runs the handshake, owns the thread and the running turn, routes the bridge's messages to the
-- UI, and after the bridge dies starts it again on the same task directory and resumes the thread.
--
-- The UI is not known here: listeners get every notification (and a few events of our own, whose
-- names start with "coco."), and request handlers answer the bridge's requests.
local jsonrpc = require("coco.jsonrpc")
local process = require("coco.process")

local M = {}

M.client_info = { name = "coco.nvim", title = "Coco for Neovim", version = "0.1.0" }

local Session = {}
Session.__index = Session

-- config: the merged options. deps (all optional, for tests):
--   spawner(argv, spec, handlers)   default process.jobstart_spawner
--   cwd()                           default vim.fn.getcwd
function M.new(config, deps)
  deps = deps or {}
  local self = setmetatable({}, Session)
  self.config = config
  self.spawner = deps.spawner or process.jobstart_spawner
  self.cwd = deps.cwd or vim.fn.getcwd
  self.phase = "stopped" -- stopped | starting | ready | stopping
  self.generation = 0 -- which bridge process the callbacks belong to
  self.start_waiters = {}
  self.thread_waiters = nil -- non-nil while thread/start or thread/resume is on its way
  self.listeners = {}
  self.request_handlers = {}
  self.log_lines = {}
  self.info = nil -- the `coco` object of the initialize result
  self.task_dir = nil
  self.thread_id = nil
  self.thread_loaded = false -- the running codex knows the thread (false after a restart)
  self.turn_id = nil -- the running turn (from turn/start's answer or turn/started)
  self.turn_started = false -- turn/started arrived: codex accepts turn/interrupt
  self.turn_pending = false -- turn/start sent, not answered yet
  self.interrupt_requested = false -- :CocoInterrupt came before turn/started
  self.continue_task = false -- the bridge died: the next start continues its task
  self.error = nil -- the last failure, shown by status() until the next turn starts
  return self
end

---------------------------------------------------------------------------------------------------
-- Plumbing

-- fn(method, params) gets every notification of the current thread and the plugin's own events.
function Session:subscribe(fn)
  self.listeners[#self.listeners + 1] = fn
end

-- fn(params, respond) answers the bridge's request `method`.
function Session:handle(method, fn)
  self.request_handlers[method] = fn
end

function Session:emit(method, params)
  for _, fn in ipairs(self.listeners) do
    local ok, err = pcall(fn, method, params or {})
    if not ok then
      self:log("error", ("listener failed on %s: %s"):format(method, err))
    end
  end
end

function Session:log(level, text)
  local lines = self.log_lines
  for _, line in ipairs(vim.split(text, "\n", { plain = true })) do
    lines[#lines + 1] = ("%s [%s] %s"):format(os.date("%H:%M:%S"), level, line)
  end
  -- Trimmed in batches: a chatty bridge (--log-level debug) must not make every line O(n).
  local max = self.config.log_lines
  if #lines > max + 100 then
    self.log_lines = vim.list_slice(lines, #lines - max + 1, #lines)
  end
end

-- extra: more fields for the coco.error event (bridgeExited = true for the exit report).
function Session:report_error(text, detail, extra)
  self.error = text
  self:log("error", text .. (detail and (": " .. detail) or ""))
  self:emit("coco.error", vim.tbl_extend("force", { text = text, detail = detail }, extra or {}))
end

local function error_text(err)
  if type(err) == "table" then
    return err.message or vim.inspect(err)
  end
  return tostring(err)
end

---------------------------------------------------------------------------------------------------
-- The bridge process

local function flush(waiters, ...)
  for _, fn in ipairs(waiters) do
    fn(...)
  end
end

-- Calls callback(err) once the bridge is running and initialized (starting it if needed).
function Session:start(callback)
  callback = callback or function() end
  if self.phase == "ready" then
    return callback(nil)
  end
  self.start_waiters[#self.start_waiters + 1] = callback
  if self.phase == "starting" then
    return
  end
  self.phase = "starting"
  self.generation = self.generation + 1
  local generation = self.generation
  local continue_dir = self.continue_task and self.task_dir or nil
  local argv = process.bridge_argv(self.config, continue_dir)
  self.stderr = process.tail(200)
  self:log("info", "starting: " .. table.concat(argv, " "))

  local conn
  conn = jsonrpc.connection({
    write = function(data)
      return self.proc ~= nil and self.generation == generation and self.proc.write(data)
    end,
    on_notification = function(method, params)
      if self.generation == generation then
        self:on_notification(method, params)
      end
    end,
    on_request = function(method, params, respond)
      local handler = self.request_handlers[method]
      if not handler then
        return respond(nil, { code = jsonrpc.METHOD_NOT_FOUND, message = "coco.nvim does not handle " .. method })
      end
      handler(params, respond)
    end,
    log = function(level, text)
      self:log(level, text)
    end,
  })
  self.conn = conn

  local handle, err = self.spawner(argv, { cwd = self.cwd(), env = self.config.env }, {
    on_stdout = function(chunk)
      conn:receive(chunk)
    end,
    on_stderr = function(chunk)
      for _, line in ipairs(self.stderr:feed(chunk)) do
        self:log("bridge", line)
      end
    end,
    on_exit = function(code)
      -- Scheduled: messages already read are dispatched (they were scheduled first) before the
      -- exit is handled.
      vim.schedule(function()
        self:on_exit(generation, code)
      end)
    end,
  })
  if not handle then
    self.phase = "stopped"
    self.conn = nil
    local text = "Cannot start the bridge: " .. err
    self:report_error(text, "Set `cmd` in require('coco').setup() or put `coco` on PATH; see :checkhealth coco")
    local waiters = self.start_waiters
    self.start_waiters = {}
    flush(waiters, text)
    return
  end
  self.proc = handle

  conn:request("initialize", {
    clientInfo = M.client_info,
    capabilities = { coco = { approvals = "prompt" } },
  }, function(ierr, result)
    if self.generation ~= generation then
      return
    end
    if ierr and ierr.code == jsonrpc.CONNECTION_CLOSED then
      return -- it exited before answering: on_exit told why
    end
    if ierr then
      self:report_error("The bridge refused initialize: " .. error_text(ierr))
      self:stop_process()
      return
    end
    conn:notify("initialized")
    self.info = (result or {}).coco or {}
    self.task_dir = self.info.taskDir
    self.thread_loaded = false
    self.continue_task = false
    self.phase = "ready"
    self:log("info", ("ready: task %s, codex %s"):format(tostring(self.info.taskId), tostring(self.info.codexVersion)))
    local waiters = self.start_waiters
    self.start_waiters = {}
    flush(waiters, nil)
  end)
end

function Session:stop_process()
  if self.proc then
    self.proc.stop()
  end
end

function Session:on_exit(generation, code)
  if generation ~= self.generation then
    return
  end
  local expected = self.phase == "stopping"
  local was_starting = self.phase == "starting"
  if self.conn then
    self.conn:close("the bridge exited")
  end
  self.conn, self.proc = nil, nil
  self.phase = "stopped"
  self.turn_id, self.turn_started, self.turn_pending, self.interrupt_requested = nil, false, false, false
  self.thread_loaded = false
  local tail = self.stderr and self.stderr:text(15) or ""
  if expected then
    self:log("info", "the bridge stopped (exit code " .. tostring(code) .. ")")
  else
    -- A bridge started with --task that exits before it is ready could not continue the task (it
    -- is gone, or another bridge writes it): trying again would fail the same way.
    local refused = was_starting and self.continue_task
    if refused then
      self.task_dir = nil
    end
    self.continue_task = self.task_dir ~= nil
    self:report_error(("The bridge exited with code %s"):format(tostring(code)), tail ~= "" and tail or nil,
      { bridgeExited = true })
    self:emit("coco.bridgeExited", { code = code, stderr = tail, wasStarting = was_starting })
    if refused then
      self:emit("coco.info", { text = "The task could not be continued; the next command starts a new one" })
    end
  end
  self:emit("coco.stopped", { code = code, expected = expected })
  local waiters = self.start_waiters
  self.start_waiters = {}
  flush(waiters, "the bridge exited with code " .. tostring(code))
end

-- Stops the bridge: closes its stdin (it then stops codex and finishes the task directory) and
-- waits up to wait_ms for it to exit. The next command starts a new task.
function Session:stop(wait_ms)
  if not self.proc then
    self.continue_task = false
    return
  end
  self.phase = "stopping"
  local proc = self.proc
  proc.close_stdin()
  local generation = self.generation
  vim.wait(wait_ms or self.config.stop_timeout_ms, function()
    return self.generation ~= generation or self.phase == "stopped"
  end, 20)
  if self.phase ~= "stopped" then
    proc.stop()
  end
  self.thread_id = nil
  self.task_dir = nil
  self.continue_task = false
end

function Session:running()
  return self.phase == "ready" or self.phase == "starting"
end

-- Sends a request once the bridge is ready; callback(err, result).
function Session:request(method, params, callback)
  callback = callback or function() end
  self:start(function(err)
    if err then
      return callback({ code = jsonrpc.CONNECTION_CLOSED, message = error_text(err) })
    end
    self.conn:request(method, params, callback)
  end)
end

---------------------------------------------------------------------------------------------------
-- Thread and turns

-- Calls callback(err, thread_id) with a thread the running codex knows: a new one, or the one
-- of before a restart, resumed.
function Session:with_thread(callback)
  self:start(function(err)
    if err then
      return callback(err)
    end
    if self.thread_id and self.thread_loaded then
      return callback(nil, self.thread_id)
    end
    if self.thread_waiters then
      self.thread_waiters[#self.thread_waiters + 1] = callback
      return
    end
    local waiters = { callback }
    self.thread_waiters = waiters
    local function done(e, id)
      if self.thread_waiters == waiters then
        self.thread_waiters = nil
        flush(waiters, e, id)
      end
    end
    local function start_new()
      self.conn:request("thread/start", { cwd = self.cwd() }, function(serr, result)
        if serr then
          return done(error_text(serr))
        end
        self.thread_id = result.thread.id
        self.thread_loaded = true
        done(nil, self.thread_id)
      end)
    end
    if not self.thread_id then
      return start_new()
    end
    local id = self.thread_id
    self.conn:request("thread/resume", { threadId = id }, function(rerr)
      if rerr then
        if rerr.code == jsonrpc.CONNECTION_CLOSED then
          return done(error_text(rerr))
        end
        self:emit("coco.info", { text = "Could not resume the thread (" .. error_text(rerr) .. "); starting a new one" })
        self.thread_id = nil
        return start_new()
      end
      self.thread_loaded = true
      self:emit("coco.info", { text = "Resumed thread " .. id })
      done(nil, id)
    end)
  end)
end

-- Sends a prompt: a new turn, or more input for the running one (turn/steer).
function Session:prompt(text)
  self:emit("coco.prompt", { text = text })
  self:with_thread(function(err, thread_id)
    if err then
      return self:report_error("Could not start a conversation: " .. error_text(err))
    end
    local input = { { type = "text", text = text } }
    if self.turn_id then
      self.conn:request("turn/steer", { threadId = thread_id, expectedTurnId = self.turn_id, input = input }, function(e)
        if e then
          self:report_error("Could not add to the running turn: " .. error_text(e))
        end
      end)
      return
    end
    self.turn_pending = true
    self.conn:request("turn/start", { threadId = thread_id, input = input }, function(e, result)
      self.turn_pending = false
      if e then
        self.interrupt_requested = false
        return self:report_error("The turn did not start: " .. error_text(e))
      end
      if result and result.turn and not self.turn_id and result.turn.status == "inProgress" then
        self.turn_id = result.turn.id
      end
    end)
  end)
end

-- Interrupts the running turn. Codex refuses turn/interrupt until the turn has really started
-- (turn/started), so an interrupt that comes earlier is sent then.
function Session:interrupt()
  if not (self.thread_id and self.conn and (self.turn_id or self.turn_pending)) then
    return false
  end
  if not self.turn_started then
    self.interrupt_requested = true
    return true
  end
  self.interrupt_requested = false
  self.conn:request("turn/interrupt", { threadId = self.thread_id, turnId = self.turn_id }, function(err)
    if err then
      self:report_error("Interrupt failed: " .. error_text(err))
    end
  end)
  return true
end

-- The next prompt starts a new thread (in the same task).
function Session:new_thread()
  self.thread_id = nil
  self.thread_loaded = false
  self.turn_id, self.turn_started, self.turn_pending, self.interrupt_requested = nil, false, false, false
  self:emit("coco.newThread", {})
end

---------------------------------------------------------------------------------------------------
-- Routing

function Session:on_notification(method, params)
  if method == "turn/started" then
    local turn = params.turn or {}
    if params.threadId == self.thread_id then
      self.turn_id = turn.id
      self.turn_started = true
      self.error = nil
      if self.interrupt_requested then
        self:interrupt()
      end
    end
  elseif method == "turn/completed" then
    local turn = params.turn or {}
    if params.threadId == self.thread_id and (self.turn_id == nil or self.turn_id == turn.id) then
      self.turn_id = nil
      self.turn_started = false
      self.interrupt_requested = false
      if turn.status == "failed" then
        self.error = "the turn failed" .. (turn.error and turn.error.message and (": " .. turn.error.message) or "")
      end
    end
  elseif method == "coco/upstream/exited" then
    self.thread_loaded = false
    self.turn_id, self.turn_started, self.turn_pending, self.interrupt_requested = nil, false, false, false
    self:report_error("codex exited: " .. tostring(params.description or params.error or "?"), params.stderrTail)
  elseif method == "coco/upstream/restarted" then
    self:emit("coco.info", { text = "codex restarted" })
    if self.thread_id then
      self:with_thread(function() end)
    end
  end
  -- Codex's notifications of another thread (one replaced by :CocoNewThread) stay out of the
  -- transcript. The bridge's own (coco/*) are never about the conversation's thread: a worker's
  -- coco/exec/completed names the worker's thread.
  if params.threadId and params.threadId ~= self.thread_id and not method:find("^coco/") then
    return
  end
  self:emit(method, params)
end

return M
