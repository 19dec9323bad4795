-- coco.nvim: chat with Codex through `coco bridge`, answer its approvals in popups, run exec
-- workers and read task directories. This file wires the pieces together and holds the public
-- API; see doc/coco.txt.
local config_mod = require("coco.config")

local M = {}

local state = nil -- {config, session, view, reducer, approvals, workers}

-- Payload of the last User event, for Neovim 0.7 where autocmds get no `data`.
M.last_event = nil

local function user_event(name, data)
  M.last_event = { name = name, data = data }
  local opts = { pattern = name, modeline = false }
  if vim.fn.has("nvim-0.8") == 1 then
    opts.data = data
  end
  vim.api.nvim_exec_autocmds("User", opts)
end

local function apply(method, params)
  state.view:apply(state.reducer:apply({ method = method, params = params }))
end

local function transcript_keymaps(buf)
  local keys = state.config.keymaps.transcript
  local function map(lhs, fn, desc)
    if lhs then
      vim.keymap.set("n", lhs, fn, { buffer = buf, silent = true, desc = desc })
    end
  end
  map(keys.prompt, function()
    M.prompt()
  end, "Coco: prompt")
  map(keys.interrupt, function()
    M.interrupt()
  end, "Coco: interrupt the turn")
  map(keys.close, function()
    state.view:close()
  end, "Coco: close the transcript")
end

-- Routes what the session reports to the transcript, the popups, the workers and User events.
local function on_session_event(method, params)
  apply(method, params)
  if method == "item/completed" and (params.item or {}).type == "fileChange" then
    -- Codex wrote files: reload the buffers that show them (those without unsaved changes).
    pcall(vim.cmd, "checktime")
  elseif method == "turn/started" then
    user_event("CocoTurnStarted", { threadId = params.threadId, turnId = (params.turn or {}).id })
  elseif method == "turn/completed" then
    local turn = params.turn or {}
    user_event("CocoTurnCompleted", { threadId = params.threadId, turnId = turn.id, status = turn.status })
    if state.config.notify.turn_completed_when_hidden and not state.view:visible() then
      vim.notify("Coco: turn " .. tostring(turn.status), vim.log.levels.INFO)
    end
  elseif method == "coco/approval/resolved" then
    -- Sent once per gate, whoever resolved it, our own answers included: the one place that tells
    -- the transcript and fires the event. (A request still open for the gate was withdrawn with
    -- $/cancelRequest, which the connection answered.)
    local ours = state.approvals:resolved(params.gateId)
    local choice, by = params.optionId or "closed", params.by
    if ours and by == "editor" and ours.option.id == params.optionId then
      choice = (ours.option.label or ours.option.id) .. (ours.feedback and (" — " .. ours.feedback) or "")
      by = "you"
    end
    apply("coco.gateResolved", { gateId = params.gateId, choice = choice, by = by })
    user_event("CocoApprovalResolved", { gateId = params.gateId, optionId = params.optionId, by = params.by })
  elseif method == "coco/approval/answerRejected" then
    state.session:log("warn", ("answer to %s rejected: %s"):format(tostring(params.gateId), tostring(params.reason)))
    vim.notify(("Coco: the bridge rejected the answer to %s: %s"):format(tostring(params.gateId), tostring(params.reason)),
      vim.log.levels.WARN)
  elseif method == "coco/approval/pending" then
    -- --approvals dir: shown for information, answered through coco/approval/answer.
    M._ask(params, nil)
  elseif method == "coco/exec/event" then
    state.workers:event(params)
  elseif method == "coco/exec/completed" then
    state.workers:completed(params)
  elseif method == "coco.stopped" then
    state.approvals:clear()
    state.workers:bridge_gone()
  elseif method == "coco.error" and not params.bridgeExited and not state.view:visible() then
    vim.notify("Coco: " .. params.text, vim.log.levels.ERROR)
  elseif method == "coco.bridgeExited" then
    local tail = params.stderr ~= "" and ("\n" .. params.stderr) or ""
    vim.notify(("Coco: the bridge exited (code %s); the next command restarts it.%s"):format(tostring(params.code), tail),
      vim.log.levels.ERROR)
  end
end

-- Shows a gate. respond (the bridge's request) may be nil: then the answer goes through
-- coco/approval/answer.
function M._ask(prompt, respond)
  local function answer(option_id, feedback, answers)
    local result = { optionId = option_id, feedback = feedback, answers = answers }
    if respond then
      respond(result)
    else
      state.session:request("coco/approval/answer", vim.tbl_extend("force", result, { gateId = prompt.gateId }), function(err)
        if err then
          vim.notify("Coco: " .. tostring(err.message), vim.log.levels.WARN)
        end
      end)
    end
  end
  local old = state.approvals.gates[prompt.gateId]
  if old and old.respond then
    -- Asked again while the first request is open: that one still gets its one answer.
    old.respond(nil, { code = require("coco.jsonrpc").REQUEST_CANCELLED, message = "asked again" })
  end
  local gate = state.approvals:ask(prompt, answer)
  gate.respond = respond
  apply("coco.gate", { title = prompt.title, gateId = prompt.gateId })
  user_event("CocoApprovalRequested", { gateId = prompt.gateId, kind = prompt.kind, title = prompt.title })
  return gate
end

local function build(config)
  local s = { config = config }
  s.session = require("coco.session").new(config)
  s.reducer = require("coco.transcript").new()
  s.view = require("coco.view").new({
    name = "coco://transcript",
    filetype = "coco",
    config = config,
    on_buffer = transcript_keymaps,
  })
  s.workers = require("coco.workers").new(config)
  s.approvals = require("coco.approvals").new(config, {
    transcript_visible = function()
      return s.view:visible()
    end,
    closed = function() end,
  })
  s.session:subscribe(on_session_event)
  s.session:handle("coco/approval/request", function(params, respond)
    M._ask(params, respond)
  end)
  return s
end

---------------------------------------------------------------------------------------------------
-- Public API

function M.setup(opts)
  local config = config_mod.build(opts)
  if state and state.session:running() then
    state.session:stop()
  end
  state = build(config)
  require("coco.commands").create()
  local group = vim.api.nvim_create_augroup("coco", { clear = true })
  vim.api.nvim_create_autocmd("VimLeavePre", {
    group = group,
    callback = function()
      if state then
        state.session:stop()
      end
    end,
  })
  return M
end

local function get()
  if not state then
    M.setup({})
  end
  return state
end

function M.config()
  return get().config
end

-- Internals for tests and :CocoLog; not a stable API.
function M._state()
  return get()
end

-- A short text for statuslines: "Coco: idle", "Coco: working", "Coco: approval (2)",
-- "Coco: error", "Coco: stopped" (and "Coco: starting").
function M.status()
  if not state then
    return "Coco: stopped"
  end
  local session = state.session
  local gates = state.approvals:count()
  if gates > 0 then
    return ("Coco: approval (%d)"):format(gates)
  end
  if session.phase == "starting" then
    return "Coco: starting"
  end
  if session.phase == "stopped" or session.phase == "stopping" then
    return session.error and "Coco: error" or "Coco: stopped"
  end
  if session.turn_id or session.turn_pending or state.workers:running() > 0 then
    return "Coco: working"
  end
  if session.error then
    return "Coco: error"
  end
  return "Coco: idle"
end

function M.open(focus)
  return get().view:open(focus ~= false)
end

-- Sends text to Codex; without text, asks for it.
function M.prompt(text)
  local s = get()
  if text == nil or text == "" then
    vim.ui.input({ prompt = "Coco: " }, function(input)
      if input and input ~= "" then
        M.prompt(input)
      end
    end)
    return
  end
  if s.config.open_on_prompt then
    s.view:open(false)
  end
  s.session:prompt(text)
end

function M.interrupt()
  if not get().session:interrupt() then
    vim.notify("Coco: no turn is running", vim.log.levels.INFO)
  end
end

function M.new_thread()
  get().session:new_thread()
end

-- Starts an exec worker (codex exec) with prompt; its buffer shows it live.
function M.exec(prompt, opts)
  local s = get()
  local params = vim.tbl_extend("force", { prompt = prompt, cwd = vim.fn.getcwd() }, opts or {})
  s.session:request("coco/exec/spawn", params, function(err, result)
    if err then
      vim.notify("Coco: the worker did not start: " .. tostring(err.message), vim.log.levels.ERROR)
      return
    end
    s.workers:spawned(result.agentId, prompt, result.dir)
  end)
end

function M.tasks()
  require("coco.tasks").pick(get().config)
end

-- :CocoGates: the open gates (ours, and those the bridge lists); pick one to answer it.
function M.gates()
  local s = get()
  local function pick(extra)
    local items = s.approvals:list()
    local known = {}
    for _, g in ipairs(items) do
      known[g.id] = true
    end
    for _, prompt in ipairs(extra) do
      if not known[prompt.gateId] then
        items[#items + 1] = { id = prompt.gateId, prompt = prompt, remote = true }
      end
    end
    if #items == 0 then
      vim.notify("Coco: no open approvals", vim.log.levels.INFO)
      return
    end
    vim.ui.select(items, {
      prompt = "Coco approvals",
      kind = "coco_gate",
      format_item = function(g)
        return ("%s  %s"):format(g.id, g.prompt.title or g.prompt.kind or "")
      end,
    }, function(g)
      if not g then
        return
      end
      if g.remote then
        M._ask(g.prompt, nil)
      else
        s.approvals:show(g)
      end
    end)
  end
  if s.session.phase ~= "ready" then
    return pick({})
  end
  s.session:request("coco/approval/list", vim.empty_dict(), function(err, result)
    pick((not err and result and result.gates) or {})
  end)
end

function M.stop()
  local s = get()
  if not s.session:running() then
    vim.notify("Coco: the bridge is not running", vim.log.levels.INFO)
    return
  end
  s.session:stop()
  s.approvals:clear()
  apply("coco.info", { text = "Stopped; the next prompt starts a new task" })
end

function M.log()
  local s = get()
  s.log_view = s.log_view or require("coco.view").new({ name = "coco://log", filetype = "log", config = s.config })
  s.log_view:set_lines(s.session.log_lines)
  s.log_view:open(true)
end

return M
